// `imgedit info`: what an image is, read from its header only (fast, even for huge files).
import { open, readFile, stat } from "node:fs/promises";
import { ConfigError, loadConfig } from "../../config.js";
import { tooLargeMessage } from "../../core/bytes.js";
import { ImageEditError, toImageEditError } from "../../core/errors.js";
import { limitsFromConfig } from "../../core/limits.js";
import { parseOptions } from "../args.js";
import { CliFailure, notAFile, readProblem } from "../fs-errors.js";
import type { CliCommand } from "../main.js";
import { printable } from "../printable.js";

const usage = `
Usage: imgedit info <file...> [--json]

Print each image's format, dimensions (upright, after EXIF orientation), frames, channels,
colour space, alpha, orientation, ICC profile and size, read from the header without decoding.
The "limits" line says whether the header would be accepted for editing with the current
configuration (MAX_IMAGE_SIZE, MAX_DIMENSIONS, MAX_INPUT_PIXELS, MAX_FRAMES, ALLOW_SVG). The
pixels are not decoded: damage past the header (a truncated JPEG) shows only when edit decodes them.

Options:
  --json      one JSON object per file, in an array
  -h, --help  this help

Exit status: 0 when every file could be read as an image, 1 otherwise, 2 on bad usage.
`;

export interface ImageInfo {
  file: string;
  format?: string;
  width?: number;
  height?: number;
  pages?: number;
  channels?: number;
  space?: string;
  depth?: string;
  alpha?: boolean;
  orientation?: number;
  icc?: boolean;
  bytes?: number;
  density?: number;
  loop?: number;
  delay?: number[];
  /** "ok" or why the editor would refuse the image. */
  limits?: string;
  error?: { code: string; message: string };
}

const info: CliCommand = {
  summary: "print an image's format, size, frames, colour and metadata",
  usage,
  async run(argv, io) {
    let parsed: ReturnType<typeof parse>;
    try {
      parsed = parse(argv);
    } catch (e) {
      io.stderr.write(`imgedit info: ${printable(e instanceof Error ? e.message : String(e))}\n`);
      return 2;
    }
    if (parsed.positionals.length === 0) {
      io.stderr.write("imgedit info: give at least one file\nRun `imgedit info --help` for usage.\n");
      return 2;
    }
    let limits: ReturnType<typeof limitsFromConfig>;
    try {
      limits = limitsFromConfig(loadConfig(io.env));
    } catch (e) {
      if (e instanceof ConfigError) {
        io.stderr.write(`imgedit info: ${e.message}\n`);
        return 2;
      }
      throw e;
    }
    const results: ImageInfo[] = [];
    for (const file of parsed.positionals) results.push(await inspect(file, limits));
    if (parsed.values.json) io.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    else for (const r of results) io.stdout.write(render(r));
    return results.some((r) => r.error) ? 1 : 0;
  },
};
export default info;

function parse(argv: string[]) {
  return parseOptions({ args: argv, allowPositionals: true, options: { json: { type: "boolean" } } });
}

// What is read of a file over MAX_IMAGE_SIZE (edit refuses it unread) to describe it: enough for
// any header sharp needs (JPEG EXIF/ICC segments can be large). A file within the limit is read
// whole, as edit reads it, so the verdict is edit's: a header may sit at the end (a TIFF's
// directory), and a GIF's frames are counted through the whole file.
const HEADER_BYTES = 16 * 1024 * 1024;

async function inspect(file: string, limits: ReturnType<typeof limitsFromConfig>): Promise<ImageInfo> {
  const out: ImageInfo = { file };
  try {
    const st = await stat(file).catch(async (e: unknown) => {
      throw await readProblem(file, e);
    });
    if (!st.isFile()) throw notAFile(file, st.isDirectory());
    out.bytes = st.size;
    const { readHeader, probeImage } = await import("../../core/probe.js");
    const whole = st.size <= limits.maxImageBytes;
    const data = await (whole ? readFile(file) : readStart(file, Math.min(st.size, HEADER_BYTES))).catch(
      async (e: unknown) => {
        throw await readProblem(file, e);
      },
    );
    // Describe the image whatever its size; then say separately whether the limits accept it.
    const unlimited = {
      ...limits,
      maxImageBytes: Number.MAX_SAFE_INTEGER,
      maxDimension: Number.MAX_SAFE_INTEGER,
      maxInputPixels: Number.MAX_SAFE_INTEGER,
      maxFrames: Number.MAX_SAFE_INTEGER,
      allowSvg: true,
    };
    let h: Awaited<ReturnType<typeof readHeader>>;
    try {
      h = await readHeader(data, unlimited, { partial: !whole });
    } catch (e) {
      // Only the start was read: that says nothing sure about the rest, and edit's verdict is the size.
      if (whole) throw e;
      throw new ImageEditError("IMAGE_TOO_LARGE", tooLargeMessage(st.size, limits.maxImageBytes));
    }
    Object.assign(out, {
      format: h.format,
      width: h.width,
      height: h.height,
      pages: h.pages,
      channels: h.channels,
      space: h.space,
      depth: h.depth,
      alpha: h.hasAlpha,
      orientation: h.orientation,
      icc: h.hasIcc,
      density: h.density,
      loop: h.pages > 1 ? h.loop : undefined,
      delay: h.pages > 1 ? h.delay : undefined,
    });
    if (st.size > limits.maxImageBytes) {
      out.limits = `IMAGE_TOO_LARGE: ${tooLargeMessage(st.size, limits.maxImageBytes)}`;
    } else {
      out.limits = await probeImage(data, limits).then(
        () => "ok",
        (e: unknown) => {
          const err = toImageEditError(e);
          return `${err.code}: ${err.message}`;
        },
      );
    }
  } catch (e) {
    if (e instanceof CliFailure) out.error = { code: e.code, message: e.message };
    else {
      const err = toImageEditError(e, "UNSUPPORTED_FORMAT");
      out.error = { code: err.code, message: err.message };
    }
  }
  return out;
}

async function readStart(file: string, length: number): Promise<Buffer> {
  const handle = await open(file, "r");
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buf, 0, length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

function render(r: ImageInfo): string {
  const name = printable(r.file);
  if (r.error) return `${name}\n  error        ${r.error.code}: ${printable(r.error.message)}\n\n`;
  const rows: [string, string][] = [
    ["format", r.format ?? "-"],
    ["dimensions", `${r.width}x${r.height}`],
    [
      "pages",
      `${r.pages}${r.pages && r.pages > 1 && r.delay ? ` (delays ${summariseDelays(r.delay)}, loop ${r.loop === 0 ? "forever" : r.loop})` : ""}`,
    ],
    ["channels", `${r.channels}`],
    ["space", `${r.space ?? "-"}${r.depth ? ` (${r.depth})` : ""}`],
    ["alpha", r.alpha ? "yes" : "no"],
    ["orientation", r.orientation === undefined ? "-" : String(r.orientation)],
    ["icc", r.icc ? "yes" : "no"],
    ["bytes", `${(r.bytes ?? 0).toLocaleString("en-US")}`],
    ["limits", r.limits ?? "-"],
  ];
  return `${name}\n${rows.map(([k, v]) => `  ${k.padEnd(12)} ${v}`).join("\n")}\n\n`;
}

function summariseDelays(delay: number[]): string {
  const unique = [...new Set(delay)];
  return unique.length === 1 ? `${unique[0]} ms each` : `${Math.min(...delay)}-${Math.max(...delay)} ms`;
}
