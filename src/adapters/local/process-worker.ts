// Worker-thread entry: runs processImage (CPU work) off the main thread. Watermark assets are
// fetched by the main thread (it holds the safe fetcher) and sent back here.
import { parentPort } from "node:worker_threads";
import { toImageEditError } from "../../core/errors.js";
import { processImage } from "../../core/pipeline.js";
import { postBytes, type ToMain, type ToWorker } from "./worker-protocol.js";

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
      // The output's memory moves to the main thread when it can; otherwise it is copied.
      postBytes(result.data, (data) => send({ type: "done", id, result: { ...result, data } }, [data]), true);
    },
    (e: unknown) => {
      const err = toImageEditError(e, "PROCESSING_FAILED");
      send({ type: "error", id, error: { ...err.toJSON(), retryable: err.retryable } });
    },
  );
});
