// The fuzz child process: runs processImage on each input the parent sends and reports the
// outcome. It is a separate process so that a libvips abort or a hang kills only the child: the
// parent sees the signal or the silence, saves the input and starts a new child.
import sharp from "sharp";
import { ImageEditError } from "../../../src/core/errors.js";
import { DEFAULT_LIMITS, type Limits } from "../../../src/core/limits.js";
import type { OutputFormat } from "../../../src/core/ops/define.js";
import { processImage } from "../../../src/core/pipeline.js";
import { validatePlan } from "../../../src/core/plan.js";

export interface FuzzRequest {
  id: number;
  data: Buffer;
  outputFormat: OutputFormat;
  width: number;
  processTimeoutMs: number;
  /** Pixel steps before the final resize (the decode paths differ: fused first step vs raw stages). */
  before?: Record<string, unknown>[];
  /** limits.allowSvg (SVG tests); off by default like the service. */
  allowSvg?: boolean;
  /** Harness self-test only: make this child abort or stop answering, to prove both are caught. */
  misbehave?: "abort" | "hang";
}

export type FuzzOutcome =
  | { id: number; kind: "ok"; width: number; height: number; format: string; rss: number }
  | { id: number; kind: "typed"; code: string; message: string; rss: number }
  /** Processed, but the output does not re-decode or has the wrong size. */
  | { id: number; kind: "bad-output"; message: string; rss: number }
  /** Threw something that is not an ImageEditError. */
  | { id: number; kind: "untyped"; message: string; rss: number };

// Peak resident set size of this child, sampled every 10 ms while libvips works on its threads (a
// spike freed before the answer would be missed by one reading at the end). Not getrusage's
// maxRSS: after fork() that still counts the parent's memory.
let peakRss = 0;
const sample = () => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
  return peakRss;
};
setInterval(sample, 10).unref();
const rss = sample;

async function handle(req: FuzzRequest): Promise<FuzzOutcome> {
  if (req.misbehave === "abort") process.abort();
  if (req.misbehave === "hang") return new Promise<never>(() => setInterval(() => {}, 1000));
  const limits: Limits = { ...DEFAULT_LIMITS, processTimeoutMs: req.processTimeoutMs, allowSvg: req.allowSvg ?? false };
  const plan = validatePlan(
    [...(req.before ?? []), { op: "resize", width: req.width }, { op: "format", format: req.outputFormat }],
    limits,
  );
  let result: Awaited<ReturnType<typeof processImage>>;
  try {
    result = await processImage(Buffer.from(req.data), plan, { limits });
  } catch (e) {
    if (e instanceof ImageEditError) return { id: req.id, kind: "typed", code: e.code, message: e.message, rss: rss() };
    return { id: req.id, kind: "untyped", message: String((e as Error)?.stack ?? e), rss: rss() };
  }
  // The output must decode completely, in the format asked for, at the size reported.
  try {
    const meta = await sharp(result.data, { animated: true }).metadata();
    const pages = meta.pages ?? 1;
    const height = pages > 1 && meta.pageHeight ? meta.pageHeight : meta.height;
    const format = meta.format === "heif" ? "avif" : meta.format;
    const problems: string[] = [];
    if (format !== req.outputFormat) problems.push(`format ${format} != ${req.outputFormat}`);
    if (meta.width !== result.width || height !== result.height)
      problems.push(`decoded ${meta.width}x${height} != reported ${result.width}x${result.height}`);
    if (result.width !== req.width) problems.push(`width ${result.width} != resize width ${req.width}`);
    await sharp(result.data, { failOn: "error" }).raw().toBuffer();
    if (problems.length > 0) return { id: req.id, kind: "bad-output", message: problems.join("; "), rss: rss() };
  } catch (e) {
    return { id: req.id, kind: "bad-output", message: `output does not decode: ${(e as Error).message}`, rss: rss() };
  }
  return { id: req.id, kind: "ok", width: result.width, height: result.height, format: result.format, rss: rss() };
}

process.on("message", (req: FuzzRequest) => {
  handle(req).then(
    (outcome) => process.send?.(outcome),
    (e) => process.send?.({ id: req.id, kind: "untyped", message: String(e), rss: rss() }),
  );
});
process.send?.({ ready: true, rss: rss() });
