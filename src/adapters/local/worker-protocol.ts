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

/**
 * Posts a message carrying `bytes`. With `move`, their memory goes over as is when it is the whole
 * of a plain ArrayBuffer that can be transferred (never a slice of Node's shared small-Buffer pool,
 * which other Buffers use), leaving `bytes` empty; otherwise a copy goes.
 */
export function postBytes(bytes: Uint8Array, post: (data: ArrayBuffer) => void, move: boolean): void {
  const ab = bytes.buffer;
  if (move && ab instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === ab.byteLength) {
    try {
      post(ab);
      return;
    } catch {
      // not transferable after all (memory Node does not own, e.g. sharp's): copy it below
    }
  }
  post(new Uint8Array(bytes).buffer as ArrayBuffer);
}
