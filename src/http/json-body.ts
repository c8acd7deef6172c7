// JSON request bodies: parsed with a clear 400 for what is not JSON, and refused when nested
// deeper than any real request is, before anything walks them (the validators and the idempotency
// fingerprint recurse: a 10 KB body of 5000 nested arrays overflowed the stack, a 500).
import { ImageEditError } from "../core/errors.js";

/** Deeper than any body the API takes (an edit is about 5 levels). */
export const MAX_JSON_DEPTH = 64;

/** The deepest nesting of arrays and objects in JSON text, read without recursion. */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c)
        i++; // backslash: the next character is escaped
      else if (ch === 0x22) inString = false;
    } else if (ch === 0x22) inString = true;
    else if (ch === 0x5b || ch === 0x7b) {
      depth++;
      if (depth > max) max = depth;
    } else if (ch === 0x5d || ch === 0x7d) depth--;
  }
  return max;
}

/** `text` as JSON; `empty` when it is blank (undefined: a blank body is refused). */
export function parseJsonBody(text: string, empty?: unknown): unknown {
  if (!text.trim()) {
    if (empty !== undefined) return empty;
    throw new ImageEditError("INVALID_INPUT", "the request body is empty; send JSON");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ImageEditError("INVALID_INPUT", `the request body is not valid JSON: ${(e as Error).message}`);
  }
  const depth = jsonDepth(text);
  if (depth > MAX_JSON_DEPTH) {
    throw new ImageEditError(
      "INVALID_INPUT",
      `the request body nests ${depth} levels deep; the limit is ${MAX_JSON_DEPTH}`,
    );
  }
  return value;
}
