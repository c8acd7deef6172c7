// A plan is a JSON array of operations; validatePlan is the one gate every caller goes through.
import type { z } from "zod";
import { ImageEditError } from "./errors.js";
import type { Limits } from "./limits.js";
import {
  getOperation,
  OPERATION_NAMES,
  type OperationName,
  operationJsonSchema,
  type Plan,
  PlanSchema,
} from "./operations.js";

export type { Plan } from "./operations.js";

export interface ValidateOptions {
  /**
   * Where the plan sits in the request, prefixed to every field path and message: "operations"
   * (the default) or e.g. "operation.operations" for the HTTP body, so `field` and each
   * `details.issues[].field` name the same full path.
   */
  root?: string;
}

/** One problem with a plan: the full path of the field and what is wrong with it. */
export interface PlanIssue {
  field: string;
  message: string;
}

/**
 * Parse and check a plan: throws INVALID_OPERATION naming the step and field (every problem in
 * `details.issues`), or TOO_MANY_OPERATIONS.
 */
export function validatePlan(input: unknown, limits: Limits, opts: ValidateOptions = {}): Plan {
  const root = opts.root ?? "operations";
  if (!Array.isArray(input))
    throw new ImageEditError("INVALID_OPERATION", `${root}: a plan is a JSON array of operations`, {
      field: root,
    });
  if (input.length > limits.maxOperations)
    throw new ImageEditError(
      "TOO_MANY_OPERATIONS",
      `the plan has ${input.length} operations; the limit is ${limits.maxOperations}`,
      { field: root, details: { count: input.length, limit: limits.maxOperations } },
    );
  // Name unknown operations ourselves: the union's own message would not say which names exist.
  input.forEach((step, i) => {
    const field = `${root}[${i}].op`;
    if (typeof step !== "object" || step === null || Array.isArray(step))
      throw new ImageEditError("INVALID_OPERATION", `${root}[${i}]: each step is an object like {"op":"resize"}`, {
        field: `${root}[${i}]`,
      });
    const name = (step as { op?: unknown }).op;
    if (typeof name !== "string")
      throw new ImageEditError("INVALID_OPERATION", `${field}: missing the operation name ("op")`, { field });
    if (!getOperation(name)) {
      const close = closest(name, OPERATION_NAMES);
      throw new ImageEditError(
        "INVALID_OPERATION",
        `${field}: unknown operation "${name}"${close ? ` (did you mean "${close}"?)` : ""}; known: ${OPERATION_NAMES.join(", ")}`,
        { field },
      );
    }
  });
  const parsed = PlanSchema.safeParse(input);
  if (!parsed.success) {
    const issues = planIssues(parsed.error.issues, input, root);
    const [first] = issues;
    throw new ImageEditError("INVALID_OPERATION", `${first.field}: ${first.message}`, {
      field: first.field,
      details: { issues },
    });
  }
  return parsed.data;
}

/**
 * zod's issues for a plan as ours: each with its full field path, and an unknown parameter
 * named as a field of its step with the parameters the operation does take (zod only says
 * `Unrecognized key: "radius"` about the step).
 */
export function planIssues(issues: readonly z.core.$ZodIssue[], plan: unknown, root = "operations"): PlanIssue[] {
  return issues.flatMap((issue): PlanIssue[] => {
    if (issue.code !== "unrecognized_keys") return [{ field: fieldPath(root, issue.path), message: issue.message }];
    const step = valueAt(plan, issue.path) as { op?: unknown } | undefined;
    const name = typeof step?.op === "string" ? step.op : undefined;
    return issue.keys.map((key) => ({
      field: fieldPath(root, [...issue.path, key]),
      message: name && getOperation(name) ? unknownParameter(name as OperationName, key) : issue.message,
    }));
  });
}

/** `blur has no parameter "radius" (its parameters: sigma)`, with the nearest one when it is a typo. */
function unknownParameter(name: OperationName, key: string): string {
  const params = parametersOf(name);
  const shown = JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}…` : key);
  if (params.length === 0) return `${name} has no parameter ${shown} (it takes none)`;
  const close = closest(key, params);
  return `${name} has no parameter ${shown} (${close ? `did you mean "${close}"? ` : ""}its parameters: ${params.join(", ")})`;
}

function parametersOf(name: OperationName): string[] {
  const schema = operationJsonSchema(name) as { properties?: Record<string, unknown> };
  return Object.keys(schema.properties ?? {}).filter((k) => k !== "op");
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let v = value;
  for (const p of path) v = v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[p] : undefined;
  return v;
}

function fieldPath(root: string, path: readonly PropertyKey[]): string {
  let out = root;
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else if (typeof p === "string" && /^[A-Za-z_$][\w$]*$/.test(p)) out += `.${p}`;
    // a key that is no identifier ("a b", "") stays readable and unambiguous
    else out += `[${JSON.stringify(String(p))}]`;
  }
  return out;
}

function closest(name: string, candidates: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const d = distance(lower, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length];
}
