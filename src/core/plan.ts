// A plan is a JSON array of operations; validatePlan is the one gate every caller goes through.
import type { z } from "zod";
import { ImageEditError } from "./errors.js";
import type { Limits } from "./limits.js";
import { getOperation, OPERATION_NAMES, type Plan, PlanSchema } from "./operations.js";

export type { Plan } from "./operations.js";

/** Parse and check a plan: throws INVALID_OPERATION naming the step and field, or TOO_MANY_OPERATIONS. */
export function validatePlan(input: unknown, limits: Limits): Plan {
  if (!Array.isArray(input))
    throw new ImageEditError("INVALID_OPERATION", "operations: a plan is a JSON array of operations", {
      field: "operations",
    });
  if (input.length > limits.maxOperations)
    throw new ImageEditError(
      "TOO_MANY_OPERATIONS",
      `the plan has ${input.length} operations; the limit is ${limits.maxOperations}`,
      { field: "operations", details: { count: input.length, limit: limits.maxOperations } },
    );
  // Name unknown operations ourselves: the union's own message would not say which names exist.
  input.forEach((step, i) => {
    const field = `operations[${i}].op`;
    if (typeof step !== "object" || step === null || Array.isArray(step))
      throw new ImageEditError("INVALID_OPERATION", `operations[${i}]: each step is an object like {"op":"resize"}`, {
        field: `operations[${i}]`,
      });
    const name = (step as { op?: unknown }).op;
    if (typeof name !== "string")
      throw new ImageEditError("INVALID_OPERATION", `${field}: missing the operation name ("op")`, { field });
    if (!getOperation(name)) {
      const close = closest(name);
      throw new ImageEditError(
        "INVALID_OPERATION",
        `${field}: unknown operation "${name}"${close ? ` (did you mean "${close}"?)` : ""}; known: ${OPERATION_NAMES.join(", ")}`,
        { field },
      );
    }
  });
  const parsed = PlanSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = fieldPath(issue.path);
    throw new ImageEditError("INVALID_OPERATION", `${field}: ${issue.message}`, {
      field,
      details: { issues: parsed.error.issues.map((i) => ({ field: fieldPath(i.path), message: i.message })) },
    });
  }
  return parsed.data;
}

function fieldPath(path: z.core.$ZodIssue["path"]): string {
  let out = "operations";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : `.${String(p)}`;
  return out;
}

function closest(name: string): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of OPERATION_NAMES) {
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
