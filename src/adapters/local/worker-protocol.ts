// Messages between the worker pool and its threads.
import type { ErrorCode } from "../../core/errors.js";
import type { Plan } from "../../core/operations.js";
import type { ProcessOptions, ProcessResult } from "../../core/pipeline.js";

export type WireOptions = Omit<ProcessOptions, "loadAsset" | "signal" | "onProgress">;

export interface WireError {
  code: ErrorCode;
  message: string;
  field?: string;
  details?: Record<string, unknown>;
  retryable?: boolean;
}

export type ToWorker =
  | { type: "run"; id: number; input: ArrayBuffer; plan: Plan; options: WireOptions }
  | { type: "asset-result"; reqId: number; data?: ArrayBuffer; error?: WireError };

export type ToMain =
  | { type: "progress"; id: number; percent: number; step: string }
  | { type: "asset"; id: number; reqId: number; url: string }
  | { type: "done"; id: number; result: Omit<ProcessResult, "data"> & { data: ArrayBuffer } }
  | { type: "error"; id: number; error: WireError };
