// Renders the operations table of docs/readme/operations.md from the catalog: each operation's
// family, parameters (from its JSON Schema: type, bounds, default, note), summary and whether
// animations survive it. test/core/write-ops-table.ts rewrites the table; a test in
// test/core/ops-docs.test.ts fails when the committed one differs.
import { catalog, operationJsonSchema } from "../operations.js";

interface Property {
  type?: string;
  enum?: unknown[];
  default?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  properties?: Record<string, Property>;
  required?: string[];
}

/** zod's int() carries these bounds of its own: they say nothing about the parameter. */
const UNBOUNDED = Number.MAX_SAFE_INTEGER;

/**
 * A number's range: "0–255" when both ends are inclusive, otherwise each bound in symbols
 * ("0 < factor ≤ 20", "≥ 0"), so an exclusive bound is never shown as an inclusive one.
 */
export function numberRange(name: string, p: Property): string | undefined {
  const lo =
    p.exclusiveMinimum !== undefined
      ? { value: p.exclusiveMinimum, inclusive: false }
      : p.minimum !== undefined && p.minimum > -UNBOUNDED
        ? { value: p.minimum, inclusive: true }
        : undefined;
  const hi =
    p.exclusiveMaximum !== undefined
      ? { value: p.exclusiveMaximum, inclusive: false }
      : p.maximum !== undefined && p.maximum < UNBOUNDED
        ? { value: p.maximum, inclusive: true }
        : undefined;
  if (lo && hi) {
    if (lo.inclusive && hi.inclusive) return `${lo.value}–${hi.value}`;
    return `${lo.value} ${lo.inclusive ? "≤" : "<"} ${name} ${hi.inclusive ? "≤" : "<"} ${hi.value}`;
  }
  if (lo) return `${lo.inclusive ? "≥" : ">"} ${lo.value}`;
  if (hi) return `${hi.inclusive ? "≤" : "<"} ${hi.value}`;
  return undefined;
}

/** One parameter as the table shows it: `factor` (number, 0 < factor ≤ 20). */
export function parameterCell(name: string, p: Property, required: boolean): string {
  let type: string;
  if (p.enum) type = p.enum.map((v) => `\`${String(v)}\``).join(" / ");
  else if (p.type === "number" || p.type === "integer") {
    const range = numberRange(name, p);
    // "integer 1–100" and "integer ≥ 0" read as one phrase; "0 < factor ≤ 20" is set apart
    type = range ? `${p.type}${range.includes(` ${name} `) ? ", " : " "}${range}` : p.type;
  } else if (p.type === "object" && p.properties)
    // a nested parameter shows its own fields: crop's inset is {top, right, bottom, left, unit}
    type = `object: ${Object.entries(p.properties)
      .map(([field, q]) => parameterCell(field, q, p.required?.includes(field) ?? false))
      .join(", ")}`;
  else type = p.type ?? "any";
  const extra = [p.default !== undefined ? `default ${JSON.stringify(p.default)}` : "", p.description ?? ""];
  return `\`${name}\`${required ? "" : "?"} (${[type, ...extra].filter(Boolean).join(", ")})`;
}

const cell = (s: string) => s.replace(/\|/g, "\\|");

/** The markdown table, header included, one row per catalog entry. */
export function renderOperationsTable(): string {
  const rows = catalog.map((def) => {
    const schema = operationJsonSchema(def.name) as {
      properties?: Record<string, Property>;
      required?: string[];
    };
    const params = Object.entries(schema.properties ?? {})
      .filter(([name]) => name !== "op")
      .map(([name, p]) => parameterCell(name, p, schema.required?.includes(name) ?? false));
    const animation = def.keepsAnimation ? "yes" : "first frame";
    return `| \`${def.name}\` | ${def.family} | ${cell(params.join(", ") || "—")} | ${cell(def.summary)} | ${animation} |`;
  });
  return ["| op | family | params | what it does | animation |", "| --- | --- | --- | --- | --- |", ...rows].join("\n");
}

/** `doc` with its operations table (header to the first blank line) replaced by a fresh one. */
export function withOperationsTable(doc: string): string {
  const lines = doc.split("\n");
  const start = lines.findIndex((l) => l.startsWith("| op | family | params |"));
  if (start < 0) throw new Error("no operations table (a line starting | op | family | params |)");
  let end = start;
  while (end < lines.length && lines[end].startsWith("|")) end++;
  return [...lines.slice(0, start), renderOperationsTable(), ...lines.slice(end)].join("\n");
}
