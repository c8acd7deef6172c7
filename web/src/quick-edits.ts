// One-click edits. They send structured operations (the catalog's own names), so they build
// exactly the plan the equivalent command would; `command` is that text, shown and kept in history.
import type { Operation } from "./api";

export interface QuickEdit {
  id: string;
  label: string;
  /** The plain-English command that plans to the same operations. */
  command: string;
  operations: Operation[];
  icon: string;
}

export const QUICK_EDITS: QuickEdit[] = [
  {
    id: "rotate-left",
    label: "Rotate left",
    command: "rotate left",
    operations: [{ op: "rotate", angle: -90 }],
    icon: "↺",
  },
  {
    id: "rotate-right",
    label: "Rotate right",
    command: "rotate right",
    operations: [{ op: "rotate", angle: 90 }],
    icon: "↻",
  },
  {
    id: "flip",
    label: "Flip",
    command: "flip horizontally",
    operations: [{ op: "flip", direction: "horizontal" }],
    icon: "⇋",
  },
  { id: "greyscale", label: "Greyscale", command: "greyscale", operations: [{ op: "grayscale" }], icon: "◐" },
  { id: "half", label: "Resize 50%", command: "scale to 50%", operations: [{ op: "scale", factor: 0.5 }], icon: "½" },
  {
    id: "square",
    label: "Square crop",
    command: "crop to square",
    operations: [{ op: "crop", aspectRatio: "1:1" }],
    icon: "▣",
  },
  { id: "webp", label: "WebP", command: "convert to webp", operations: [{ op: "format", format: "webp" }], icon: "W" },
];
