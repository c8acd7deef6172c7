// Worker-thread entry: runs processImage (CPU work) off the main thread. Watermark assets are
// fetched by the main thread (it holds the safe fetcher) and sent back here.
import { parentPort } from "node:worker_threads";
import { toImageEditError } from "../../core/errors.js";
import { processImage } from "../../core/pipeline.js";
import type { ToMain, ToWorker } from "./worker-protocol.js";

const port = parentPort;
if (!port) throw new Error("process-worker must run in a worker thread");

const assetWaiters = new Map<number, { resolve: (b: Buffer) => void; reject: (e: unknown) => void }>();
let nextReq = 1;
const send = (msg: ToMain, transfer?: ArrayBuffer[]) => port.postMessage(msg, transfer);

port.on("message", (msg: ToWorker) => {
  if (msg.type === "asset-result") {
    const w = assetWaiters.get(msg.reqId);
    if (!w) return;
    assetWaiters.delete(msg.reqId);
    if (msg.data) w.resolve(Buffer.from(msg.data));
    else w.reject(toImageEditError(Object.assign(new Error(msg.error?.message ?? "asset failed"), msg.error)));
    return;
  }
  const { id, input, plan, options } = msg;
  const loadAsset = (url: string) =>
    new Promise<Buffer>((resolve, reject) => {
      const reqId = nextReq++;
      assetWaiters.set(reqId, { resolve, reject });
      send({ type: "asset", id, reqId, url });
    });
  processImage(Buffer.from(input), plan, {
    ...options,
    loadAsset,
    onProgress: (percent, step) => send({ type: "progress", id, percent, step }),
  }).then(
    (result) => {
      // The output's own memory moves to the main thread when it is a whole plain ArrayBuffer
      // that can be transferred; otherwise (a slice, or memory sharp allocated) it is copied.
      const b = result.data;
      const ab = b.buffer;
      if (ab instanceof ArrayBuffer && b.byteOffset === 0 && b.byteLength === ab.byteLength) {
        try {
          send({ type: "done", id, result: { ...result, data: ab } }, [ab]);
          return;
        } catch {
          // not transferable: copy below
        }
      }
      const data = new Uint8Array(b).buffer as ArrayBuffer;
      send({ type: "done", id, result: { ...result, data } }, [data]);
    },
    (e: unknown) => {
      const err = toImageEditError(e, "PROCESSING_FAILED");
      send({ type: "error", id, error: { ...err.toJSON(), retryable: err.retryable } });
    },
  );
});
