// plan + image bytes -> output bytes. Each pixel step runs on the previous step's output: the
// first step reads the encoded input (so JPEG shrink-on-load applies; a 16-bit input is decoded
// to 8-bit sRGB first), the last step's chain is encoded directly, and raw pixels are materialised
// only between steps. Output steps (format, metadata) only change how the result is written.
import sharp, { type OutputInfo, type Sharp } from "sharp";
import { parseColor } from "./color.js";
import { ImageEditError, isImageEditError } from "./errors.js";
import {
  CONTENT_TYPES,
  defaultOutputFormat,
  EXTENSIONS,
  isAnimatedFormat,
  lacksAlpha,
  MAX_AVIF_PIXELS,
} from "./formats.js";
import { joinChain, startChain } from "./fusion.js";
import type { Limits } from "./limits.js";
import { describeOperation, getOperation, type Operation, type Plan } from "./operations.js";
import {
  type ImageMeta,
  isNotImplemented,
  type OperationDef,
  type OutputFormat,
  type OutputSettings,
  type StepContext,
} from "./ops/define.js";
import { decodeToSrgb, type Header, hasExtraChannels, isDeep, type ProbeResult, readHeader } from "./probe.js";
import { sharpError } from "./sharp-errors.js";

export type { ProbeResult } from "./probe.js";
export { probeImage } from "./probe.js";

// One image at a time per pipeline, many pipelines in parallel: libvips' operation cache only
// costs memory here (inputs are never the same twice in a service).
sharp.cache(false);

export interface ProcessOptions {
  limits: Limits;
  /** Loads watermark images; absent => a watermark step fails with a typed error. */
  loadAsset?: (url: string) => Promise<Buffer>;
  signal?: AbortSignal;
  /** The API's per-session options, applied after the plan. */
  outputFormat?: OutputFormat;
  quality?: number;
  maxWidth?: number;
  maxHeight?: number;
  keepMetadata?: boolean;
  onProgress?: (percent: number, step: string) => void;
}

export interface ProcessResult {
  data: Buffer;
  width: number;
  height: number;
  pages: number;
  format: OutputFormat;
  bytes: number;
  contentType: string;
  ext: string;
  /** The input as its header told (oriented size): callers record it without probing again. */
  source: Pick<ProbeResult, "width" | "height" | "format" | "pages">;
}

interface EncodedStage {
  kind: "encoded";
}
/**
 * Raw pixels between steps, never premultiplied: sharp's OutputInfo.premultiplied only says that
 * sharp premultiplied internally (resize, blur, sharpen, ...); it unpremultiplies before writing.
 */
interface RawStage {
  kind: "raw";
  data: Buffer;
  width: number;
  /** Height of one frame. */
  height: number;
  pages: number;
  channels: 1 | 2 | 3 | 4;
}
type Stage = EncodedStage | RawStage;

interface Step {
  index: number;
  op: Operation;
  def: OperationDef;
}

/** Apply a validated plan to one image. Throws ImageEditError for every failure. */
export async function processImage(input: Buffer, plan: Plan, opts: ProcessOptions): Promise<ProcessResult> {
  const run = new Run(input, plan, opts);
  try {
    return await run.execute();
  } catch (e) {
    // Every failure leaves typed; an untyped one here is a sharp argument check we did not foresee.
    throw await run.explain(isImageEditError(e) ? e : sharpError(e, "process"));
  } finally {
    run.dispose();
  }
}

class Run {
  private readonly limits: Limits;
  private readonly deadline: number;
  private readonly timer?: NodeJS.Timeout;
  /** Set when the signal aborts or the time limit passes; every pending race() then rejects with it. */
  private stopped?: ImageEditError;
  /** The reject functions of the races still pending (removed as each settles). */
  private readonly racing = new Set<(e: ImageEditError) => void>();
  private header!: Header;
  private animate = false;
  private readonly onAbort = () => this.rejectStop(abortError(this.opts.signal));

  constructor(
    private readonly input: Buffer,
    private readonly plan: Plan,
    private readonly opts: ProcessOptions,
  ) {
    this.limits = opts.limits;
    this.deadline = Date.now() + this.limits.processTimeoutMs;
    this.timer = setTimeout(
      () =>
        this.rejectStop(
          new ImageEditError(
            "PROCESSING_TIMEOUT",
            `image processing took longer than ${this.limits.processTimeoutMs / 1000}s`,
          ),
        ),
      // setTimeout fires at once above 2^31-1 ms; a longer limit means "effectively none".
      Math.min(this.limits.processTimeoutMs, 2_147_483_647),
    );
    this.timer.unref?.();
    opts.signal?.addEventListener("abort", this.onAbort, { once: true });
  }

  /**
   * libvips' PNG writer says only "unable to write to target" when the decoder feeding it stops
   * on a warning (a PNG with a bad IHDR CRC): decoding the input on its own names the reason.
   */
  async explain(err: ImageEditError): Promise<ImageEditError> {
    if (err.code !== "CORRUPT_IMAGE" || !/unable to write to target/i.test(err.message) || this.stopped) return err;
    try {
      await this.race(
        sharp(this.input, { limitInputPixels: this.limits.maxInputPixels, sequentialRead: true })
          .resize(1, 1, { fit: "fill" })
          .raw()
          .timeout({ seconds: Math.max(1, Math.ceil((this.deadline - Date.now()) / 1000)) })
          .toBuffer(),
      );
    } catch (e) {
      const why = sharpError(e, "decode");
      if (why.code === "CORRUPT_IMAGE" && !/unable to write to target/i.test(why.message)) return why;
    }
    return err;
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.opts.signal?.removeEventListener("abort", this.onAbort);
  }

  async execute(): Promise<ProcessResult> {
    if (this.opts.signal?.aborted) throw abortError(this.opts.signal);
    const { steps, settings } = this.prepare();
    this.header = await this.race(readHeader(this.input, this.limits));
    const finalSettings = this.finalSettings(settings);
    // Frames survive only when input and output can animate and every pixel step keeps them;
    // otherwise the first frame is the image (documented in docs/readme/core.md).
    this.animate =
      this.header.pages > 1 &&
      isAnimatedFormat(this.header.format) &&
      isAnimatedFormat(finalSettings.format) &&
      steps.every((s) => s.def.keepsAnimation);

    const total = steps.length + 1;
    this.progress(0, "decode");
    let stage: Stage = { kind: "encoded" };
    let meta = this.inputMeta();
    if (this.animate && !this.canFuse(stage)) {
      stage = await this.uprightFrames();
      meta = rawMeta(stage, this.header.format);
    } else if (isDeep(this.header) || hasExtraChannels(this.header)) {
      // sharp would run the first chain in 16 bits or float (contrast's offset 256x too small, a
      // float image black after brightness, fused steps rounded differently from one by one):
      // every output is 8-bit, so decode to that once. Extra channels are dropped there too.
      stage = await this.materialise(this.open(stage), "decode");
      meta = rawMeta(stage, this.header.format);
    }
    for (let n = 0; n < steps.length; ) {
      const step = steps[n];
      if (!this.canFuse(stage) && BEFORE_EXIF_TURN.has(step.op.op)) {
        stage = await this.materialise(this.open(stage), "decode");
        meta = rawMeta(stage, this.header.format);
      }
      this.checkPredicted(step, meta);
      const ctx = this.context(meta, step);
      let done = n + 1;
      if (meta.pages > 1 && (step.def.frames ?? "each") === "each") {
        stage = await this.eachFrame(stage, step, ctx);
      } else {
        let image = await this.apply(this.open(stage), step, ctx);
        // Following steps that sharp runs, in the plan's order, in this same chain (./fusion.ts).
        const chain = this.canFuse(stage) ? startChain(step.op) : undefined;
        let predicted = predictedMeta(step, meta);
        while (chain && predicted && done < steps.length) {
          const next = steps[done];
          if (predicted.pages > 1 && (next.def.frames ?? "each") === "each") break;
          const op = joinChain(chain, next.op, predicted, stage.kind === "encoded");
          if (!op) break;
          this.checkPredicted(next, predicted);
          image = await this.apply(image, { ...next, op }, this.context(predicted, next));
          predicted = predictedMeta(next, predicted);
          done++;
        }
        const lastStep = steps[done - 1];
        if (done === steps.length && !this.flattensAfter(finalSettings, meta, steps.slice(n, done))) {
          // the steps fused into the encoding chain report as they would have before it
          for (; n < done - 1; n++) this.progress(this.percent(n + 1, total), describeOperation(steps[n].op));
          return this.finish(image, finalSettings, stage, lastStep, predicted);
        }
        stage = await this.materialise(image, stage.kind === "encoded" ? "decode" : "process", lastStep);
      }
      meta = rawMeta(stage as RawStage, this.header.format);
      this.checkDimensions(meta.width, meta.height, steps[done - 1]);
      // one event per step, fused or not
      for (; n < done; n++) this.progress(this.percent(n + 1, total), describeOperation(steps[n].op));
    }
    return this.finish(this.open(stage), finalSettings, stage, undefined, meta);
  }

  /** Chains over the encoded input fuse only when no EXIF turn is applied (sharp moves it around). */
  private canFuse(stage: Stage): boolean {
    return stage.kind === "raw" || (this.header.orientation ?? 1) <= 1;
  }

  /** Split the plan: pixel steps in order, output steps folded into the settings. */
  private prepare(): { steps: Step[]; settings: Omit<OutputSettings, "format"> & { format?: OutputFormat } } {
    // Plans normally arrive through validatePlan; callers that build one in code get the same cap.
    if (this.plan.length > this.limits.maxOperations)
      throw new ImageEditError(
        "TOO_MANY_OPERATIONS",
        `the plan has ${this.plan.length} operations; the limit is ${this.limits.maxOperations}`,
      );
    const steps: Step[] = [];
    let settings: Omit<OutputSettings, "format"> & { format?: OutputFormat } = { keepMetadata: false };
    this.plan.forEach((op, index) => {
      const def = getOperation(op.op);
      if (!def)
        throw new ImageEditError("INVALID_OPERATION", `operations[${index}].op: unknown operation "${op.op}"`, {
          field: `operations[${index}].op`,
        });
      if (isNotImplemented(def))
        throw new ImageEditError(
          "INVALID_OPERATION",
          `operations[${index}]: "${op.op}" is not implemented in this build yet`,
          { field: `operations[${index}].op` },
        );
      if (def.output) {
        settings = def.output(settings as OutputSettings, op as never);
        return;
      }
      // The pipeline always orients first, so an explicit autoOrient step has nothing left to do.
      if (def.name === "autoOrient") return;
      steps.push({ index, op, def });
    });
    if (this.opts.maxWidth || this.opts.maxHeight) {
      const op = {
        op: "resize",
        width: this.opts.maxWidth,
        height: this.opts.maxHeight,
        fit: "inside",
        withoutEnlargement: true,
      } as Operation;
      steps.push({ index: this.plan.length, op, def: getOperation("resize") as OperationDef });
    }
    if (this.opts.outputFormat) settings = { ...settings, format: this.opts.outputFormat };
    if (this.opts.quality !== undefined) settings = { ...settings, quality: this.opts.quality };
    if (this.opts.keepMetadata !== undefined) settings = { ...settings, keepMetadata: this.opts.keepMetadata };
    return { steps, settings };
  }

  private finalSettings(s: Omit<OutputSettings, "format"> & { format?: OutputFormat }): OutputSettings {
    return { ...s, format: s.format ?? defaultOutputFormat(this.header.format) };
  }

  private inputMeta(): ImageMeta {
    const h = this.header;
    const grey = h.space === "b-w" || h.space === "grey16";
    return {
      width: h.width,
      height: h.height,
      pages: this.animate ? h.pages : 1,
      channels: (grey ? 1 : 3) + (h.hasAlpha ? 1 : 0),
      hasAlpha: h.hasAlpha,
      sourceFormat: h.format,
    };
  }

  private context(meta: ImageMeta, step: Step): StepContext {
    const loadAsset = this.opts.loadAsset;
    return {
      limits: this.limits,
      signal: this.opts.signal,
      meta,
      eachFrame: async (image, make) => {
        const whole = await this.materialise(image, "process", step);
        const one = { ...meta, pages: 1 };
        return this.open(await this.framesOf(whole, step, async (frame) => make(frame, one)));
      },
      loadAsset: loadAsset
        ? (url) => this.race(loadAsset(url))
        : async (url) => {
            throw new ImageEditError(
              "INVALID_OPERATION",
              `cannot load ${url}: this runtime has no way to fetch other images`,
            );
          },
    };
  }

  /** A fresh sharp instance reading a stage: the encoded input (oriented unless asked not to) or raw pixels. */
  private open(stage: Stage, autoOrient = true): Sharp {
    let image: Sharp;
    if (stage.kind === "encoded") {
      image = decodeToSrgb(
        sharp(this.input, {
          autoOrient,
          animated: this.animate,
          limitInputPixels: this.limits.maxInputPixels,
          sequentialRead: true,
        }),
        this.header,
      );
    } else {
      image = sharp(stage.data, {
        raw: {
          width: stage.width,
          height: stage.height * stage.pages,
          channels: stage.channels,
          ...(stage.pages > 1 ? { pageHeight: stage.height } : {}),
        },
        // Without this sharp treats the strip as one tall page (extract would cut across frames).
        ...(stage.pages > 1 ? { pages: -1 } : {}),
        limitInputPixels: false,
      });
    }
    return image.timeout({ seconds: Math.max(1, Math.ceil((this.deadline - Date.now()) / 1000)) });
  }

  private async apply(image: Sharp, step: Step, ctx: StepContext): Promise<Sharp> {
    try {
      return await this.race(Promise.resolve(step.def.apply?.(image, step.op as never, ctx) ?? image));
    } catch (e) {
      throw stepError(e, step);
    }
  }

  private async materialise(image: Sharp, phase: "decode" | "process", step?: Step): Promise<RawStage> {
    let out: { data: Buffer; info: OutputInfo };
    try {
      out = await this.race(image.raw().toBuffer({ resolveWithObject: true }));
    } catch (e) {
      const err = sharpError(e, phase);
      throw step && err.code === "PROCESSING_FAILED" ? stepError(err, step) : err;
    }
    const pages = out.info.pages && out.info.pages > 1 ? out.info.pages : 1;
    // Raw output is sRGB: bands past RGBA are an input's extra channels (hasExtraChannels).
    const channels = Math.min(out.info.channels, 4) as RawStage["channels"];
    return {
      kind: "raw",
      data: channels < out.info.channels ? firstBands(out.data, out.info.channels, channels) : out.data,
      width: out.info.width,
      height: pages > 1 ? (out.info.pageHeight ?? out.info.height / pages) : out.info.height,
      pages,
      channels,
    };
  }

  /**
   * The frames of an EXIF-oriented animation, each turned upright on its own: sharp turns the
   * whole strip of frames at once, which reverses their order (orientations 3 and 4) or is
   * refused ("Rotate is not supported for multi-page images", 5 to 8).
   */
  private async uprightFrames(): Promise<RawStage> {
    const whole = await this.materialise(this.open({ kind: "encoded" }, false), "decode");
    const { flop, angle } = EXIF_TURNS[this.header.orientation ?? 1] ?? { flop: false, angle: 0 };
    const frameBytes = whole.width * whole.height * whole.channels;
    return this.frameStrip(whole.pages, (k) => {
      const frame = this.open({ ...whole, pages: 1, data: whole.data.subarray(k * frameBytes, (k + 1) * frameBytes) });
      // in one sharp chain the mirror runs before the turn, whatever the call order
      return this.materialise((flop ? frame.flop() : frame).rotate(angle), "process");
    });
  }

  /** Run a step on each frame of an animation separately, then join the frames again. */
  private async eachFrame(stage: Stage, step: Step, ctx: StepContext): Promise<RawStage> {
    const whole = stage.kind === "raw" ? stage : await this.materialise(this.open(stage), "decode");
    const frameCtx: StepContext = { ...ctx, meta: { ...ctx.meta, pages: 1 } };
    return this.framesOf(whole, step, (frame) => this.apply(frame, step, frameCtx));
  }

  /** `make` on each frame of `whole` alone, the results stacked again (under the run's time limit). */
  private framesOf(whole: RawStage, step: Step, make: (frame: Sharp) => Promise<Sharp>): Promise<RawStage> {
    const frameBytes = whole.width * whole.height * whole.channels;
    return this.frameStrip(
      whole.pages,
      async (k) => {
        const frame: RawStage = { ...whole, pages: 1, data: whole.data.subarray(k * frameBytes, (k + 1) * frameBytes) };
        return this.materialise(await make(this.open(frame)), "process", step);
      },
      step,
    );
  }

  /**
   * Frames 0..pages-1 made one at a time, copied into one strip as they come: the frames are
   * never all held besides the strip (with the input strip, two copies of the pixels, not three).
   */
  private async frameStrip(pages: number, make: (k: number) => Promise<RawStage>, step?: Step): Promise<RawStage> {
    const first = await make(0);
    const bytes = first.data.length;
    const data = Buffer.allocUnsafe(bytes * pages);
    first.data.copy(data, 0);
    for (let k = 1; k < pages; k++) {
      const out = await make(k);
      if (out.width !== first.width || out.height !== first.height || out.channels !== first.channels) {
        const err = new ImageEditError("PROCESSING_FAILED", "the frames of the animation came out different sizes");
        throw step ? stepError(err, step) : err;
      }
      out.data.copy(data, k * bytes);
    }
    return { ...first, pages, data };
  }

  /** Encode the last chain directly in the output format. */
  private async finish(
    image: Sharp,
    settings: OutputSettings,
    stage: Stage,
    step?: Step,
    /** The size `image` will have, when it is known beforehand. */
    size?: { width: number; height: number },
  ): Promise<ProcessResult> {
    const format = settings.format;
    const flatten = lacksAlpha(format, settings.quality);
    if (format === "avif" && !size) {
      // a size no step could predict (trim, smart crop): the pixels are needed to know it
      stage = await this.materialise(image, stage.kind === "encoded" ? "decode" : "process", step);
      image = this.open(stage);
      size = stage;
    }
    if (format === "avif" && size) this.checkAvif(size.width, size.height);
    let chain = image;
    if (settings.keepMetadata && stage.kind === "raw") {
      // Raw pixels carry no metadata: re-attach the input's by painting them over the input. They
      // are flattened first: in that chain sharp would flatten the input under them instead.
      let pixels = await this.materialise(image, "process", step);
      if (flatten && (pixels.channels === 2 || pixels.channels === 4))
        pixels = await this.materialise(this.open(pixels).flatten({ background: WHITE }), "process", step);
      chain = (await this.withInputMetadata(pixels)).withMetadata();
    } else {
      if (settings.keepMetadata) chain = chain.withMetadata();
      // Only here when nothing in this chain runs after sharp's flatten that could matter (flattensAfter).
      if (flatten) chain = chain.flatten({ background: WHITE });
    }
    chain = this.encoder(chain, settings);
    let out: { data: Buffer; info: OutputInfo };
    try {
      out = await this.race(chain.toBuffer({ resolveWithObject: true }));
    } catch (e) {
      const err = sharpError(e, stage.kind === "encoded" ? "decode" : "process");
      throw step && err.code === "PROCESSING_FAILED" ? stepError(err, step) : err;
    }
    // Encoders merge identical consecutive frames (adding up their delays), down to a still file:
    // the page count is the written file's, and info.height is the whole strip of frames.
    const pages = this.animate ? await this.writtenPages(out.data) : 1;
    const width = out.info.width;
    const height = this.animate && out.info.pageHeight ? out.info.pageHeight : out.info.height;
    this.checkDimensions(width, height);
    this.progress(100, "encode");
    return {
      data: out.data,
      width,
      height,
      pages,
      format,
      bytes: out.data.length,
      contentType: CONTENT_TYPES[format],
      ext: EXTENSIONS[format],
      source: {
        width: this.header.width,
        height: this.header.height,
        format: this.header.format,
        pages: this.header.pages,
      },
    };
  }

  /**
   * sharp flattens before every other operation of a chain, whatever the call order: a chain
   * written without alpha (JPEG, JPEG-in-TIFF) whose pixels have or may gain transparency (an
   * alpha input; a transparent pad, border, rotate or contain background) is materialised and
   * flattened afterwards, so transparent areas come out white, not black (libvips' own flatten
   * when it writes) and not as white run through the steps (negated, darkened, ...).
   */
  private flattensAfter(settings: OutputSettings, chainInput: ImageMeta, chain: Step[]): boolean {
    if (!lacksAlpha(settings.format, settings.quality)) return false;
    if (chain.some((s) => mayAddAlpha(s.op))) return true;
    // Moving or resampling pixels commutes with flattening (up to rounding): a transparent PNG
    // resized to JPEG needs no extra pass, which costs ~20% of its time.
    return chainInput.hasAlpha && !chain.every((s) => commutesWithFlatten(s.op));
  }

  /** Frames in the written file (header only); a still file has no `pages`. */
  private async writtenPages(data: Buffer): Promise<number> {
    try {
      return Math.max(1, (await sharp(data).metadata()).pages ?? 1);
    } catch (e) {
      throw sharpError(e, "process");
    }
  }

  private encoder(image: Sharp, s: OutputSettings): Sharp {
    const quality = s.quality ?? this.limits.defaultQuality;
    const animation = this.animate ? { loop: clamp16(this.header.loop ?? 0), ...this.delays() } : {};
    switch (s.format) {
      case "jpeg":
        return image.jpeg({ quality });
      case "png":
        return image.png();
      case "webp":
        return image.webp({ quality, lossless: s.lossless ?? false, ...animation });
      case "avif":
        return image.avif({ quality, lossless: s.lossless ?? false });
      case "gif":
        return image.gif(animation);
      case "tiff":
        // Lossless unless a quality was asked for (then JPEG-in-TIFF).
        return s.quality !== undefined
          ? image.tiff({ compression: "jpeg", quality })
          : image.tiff({ compression: "lzw" });
    }
  }

  private delays(): { delay?: number[] } {
    const d = this.header.delay;
    // WebP frame durations are 24-bit; the encoders take 0-65535 ms, so a hostile header is clamped.
    return d && d.length === this.header.pages ? { delay: d.map(clamp16) } : {};
  }

  /**
   * The final pixels painted over the (oriented) input, so withMetadata() finds its EXIF/XMP.
   * An animation is painted frame for frame over all of the input's frames; it is read unturned
   * (sharp cannot turn a strip of frames by 90°, and every pixel is painted over anyway), so its
   * orientation tag is set to 1 here: the pixels are upright already.
   */
  private async withInputMetadata(stage: RawStage): Promise<Sharp> {
    const frames = stage.pages > 1;
    const size = { width: stage.width, height: stage.height * stage.pages };
    // composite premultiplies: pixels painted with their alpha would come out a level off where
    // semi-transparent, and without their colour where transparent. The colours are painted
    // opaque (exact), and the alpha is put back by a bitwise AND with (255, 255, 255, alpha),
    // which sharp runs after composite.
    const split = stage.channels === 2 || stage.channels === 4 ? splitAlpha(stage) : undefined;
    let image = sharp(await this.metadataSource(), {
      autoOrient: !frames,
      animated: frames,
      limitInputPixels: this.limits.maxInputPixels,
    })
      .resize(stage.width, stage.height, { fit: "fill" })
      .composite([
        {
          input: split?.colours ?? stage.data,
          raw: { ...size, channels: split ? ((stage.channels - 1) as 1 | 3) : stage.channels },
          blend: "source",
        },
      ])
      .timeout({ seconds: Math.max(1, Math.ceil((this.deadline - Date.now()) / 1000)) });
    if (frames) image = image.withMetadata({ orientation: 1 });
    // composite always leaves an alpha band: pixels without one must not gain it
    return split ? image.boolean(split.mask, "and", { raw: { ...size, channels: 4 } }) : image.removeAlpha();
  }

  /**
   * The image whose metadata the output keeps: the input, except a 16-bit RGB one or one with
   * extra channels. sharp works on a 16-bit one in Display P3 and writes the sRGB profile by
   * converting from P3, which would shift the sRGB pixels painted over it; a tiny 8-bit JPEG with
   * all of its metadata (EXIF, XMP, IPTC, ICC; the pixels do not matter) stands in for it.
   */
  private async metadataSource(): Promise<Buffer> {
    const extra = hasExtraChannels(this.header);
    if (this.header.space !== "rgb16" && !extra) return this.input;
    try {
      // composite refuses a base with more bands than the pixels painted over it: colour only.
      const image = sharp(this.input, { limitInputPixels: this.limits.maxInputPixels });
      return await this.race(
        (extra ? image.removeAlpha() : image).resize(8, 8, { fit: "fill" }).keepMetadata().jpeg().toBuffer(),
      );
    } catch (e) {
      throw sharpError(e, "decode");
    }
  }

  private checkPredicted(step: Step, meta: ImageMeta): void {
    const size = step.def.outputSize?.(meta, step.op as never);
    if (size) this.checkDimensions(size.width, size.height, step, true);
  }

  private checkDimensions(width: number, height: number, step?: Step, predicted = false): void {
    const max = this.limits.maxDimension;
    const w = Math.round(width);
    const h = Math.round(height);
    if (w > max || h > max) {
      const what = step
        ? `operations[${step.index}] (${step.op.op}) ${predicted ? "would make" : "made"} the image ${w}x${h}`
        : `the output is ${w}x${h}`;
      throw new ImageEditError("DIMENSIONS_TOO_LARGE", `${what}; the limit is ${max} px per side`, {
        field: step ? `operations[${step.index}]` : undefined,
        details: { width: w, height: h, limit: max },
      });
    }
    const pages = this.animate ? this.header.pages : 1;
    if (w * h * pages > this.limits.maxInputPixels)
      throw new ImageEditError(
        "PIXEL_LIMIT",
        `${step ? `operations[${step.index}] (${step.op.op})` : "the output"} would hold ${(w * h * pages).toLocaleString("en-US")} pixels; the limit is ${this.limits.maxInputPixels.toLocaleString("en-US")}`,
        { field: step ? `operations[${step.index}]` : undefined },
      );
  }

  /** Refuse an AVIF its encoder could not write within the memory the service has (MAX_AVIF_PIXELS). */
  private checkAvif(width: number, height: number): void {
    const pixels = Math.round(width) * Math.round(height);
    if (pixels <= MAX_AVIF_PIXELS) return;
    const fit = Math.sqrt(MAX_AVIF_PIXELS / pixels);
    const int = (n: number) => n.toLocaleString("en-US");
    throw new ImageEditError(
      "PIXEL_LIMIT",
      `the result is ${Math.round(width)}x${Math.round(height)} (${int(pixels)} pixels); AVIF output is limited to ${int(MAX_AVIF_PIXELS)} pixels (its encoder needs about 23 bytes per pixel): resize it to at most ${Math.floor(width * fit)}x${Math.floor(height * fit)}, or write WebP or JPEG`,
      { field: "format", details: { width, height, pixels, limit: MAX_AVIF_PIXELS } },
    );
  }

  private percent(stepsDone: number, total: number): number {
    return Math.round((stepsDone / total) * 100);
  }

  private progress(percent: number, label: string): void {
    try {
      this.opts.onProgress?.(percent, label);
    } catch {
      // a progress listener must never break processing
    }
  }

  private rejectStop(e: ImageEditError): void {
    this.stopped ??= e;
    for (const reject of this.racing) reject(this.stopped);
    this.racing.clear();
  }

  /**
   * `p`, or the stop (time limit, abort) if that comes first. Not Promise.race against one
   * long-lived promise: each race leaves a reaction on it that keeps the race's result reachable
   * until the run ends, so every step's raw pixels (and every frame's) stayed in memory.
   */
  private race<T>(p: Promise<T>): Promise<T> {
    if (this.stopped) {
      p.catch(() => {}); // settles unobserved
      return Promise.reject(this.stopped);
    }
    return new Promise<T>((resolve, reject) => {
      this.racing.add(reject);
      p.then(resolve, reject).finally(() => this.racing.delete(reject));
    });
  }
}

/**
 * Steps sharp runs before it applies the EXIF orientation when they share the chain that reads
 * the input: trim would take the STORED top-left pixel as the background (another corner of the
 * picture the user sees). They get the upright pixels in hand instead.
 */
const BEFORE_EXIF_TURN = new Set(["trim"]);

/** EXIF orientation 2-8 as a mirror then a clockwise turn (the order sharp runs them in a chain). */
const EXIF_TURNS: Record<number, { flop: boolean; angle: number }> = {
  2: { flop: true, angle: 0 },
  3: { flop: false, angle: 180 },
  4: { flop: true, angle: 180 },
  5: { flop: true, angle: 270 },
  6: { flop: false, angle: 90 },
  7: { flop: true, angle: 90 },
  8: { flop: false, angle: 270 },
};

const WHITE = "#ffffff";

/** The first `keep` bands of each pixel. */
function firstBands(data: Buffer, channels: number, keep: number): Buffer {
  const pixels = data.length / channels;
  const out = Buffer.allocUnsafe(pixels * keep);
  for (let p = 0, i = 0, o = 0; p < pixels; p++, i += channels) for (let c = 0; c < keep; c++) out[o++] = data[i + c];
  return out;
}

/** Raw pixels with alpha as their colour bands alone and a (255, 255, 255, alpha) mask. */
function splitAlpha(stage: RawStage): { colours: Buffer; mask: Buffer } {
  const n = stage.channels;
  const pixels = stage.data.length / n;
  const colours = Buffer.alloc(pixels * (n - 1));
  const mask = Buffer.alloc(pixels * 4, 255);
  const data = stage.data;
  for (let p = 0, i = 0, o = 0; p < pixels; p++, i += n) {
    for (let c = 0; c < n - 1; c++) colours[o++] = data[i + c];
    mask[p * 4 + 3] = data[i + n - 1];
  }
  return { colours, mask };
}

/** Steps that only move, cut out or resample pixels, and paint none (flatten before = flatten after). */
function commutesWithFlatten(op: Operation): boolean {
  switch (op.op) {
    case "resize":
      return op.fit !== "contain";
    case "scale":
    case "crop":
    case "flip":
    case "autoOrient":
      return true;
    case "rotate":
      return op.angle % 90 === 0;
    default:
      return false;
  }
}

/** A step with a colour parameter that is not opaque (a transparent background, ...) may add alpha. */
function mayAddAlpha(op: Operation): boolean {
  return Object.values(op).some((v) => typeof v === "string" && (parseColor(v)?.alpha ?? 1) < 1);
}

/** An integer in 0-65535: what sharp's GIF/WebP encoders accept for delays and loop counts. */
function clamp16(n: number): number {
  return Number.isFinite(n) ? Math.min(65_535, Math.max(0, Math.round(n))) : 0;
}

/** The image leaving `step` as far as it can be known beforehand; undefined = unknown. */
function predictedMeta(step: Step, meta: ImageMeta): ImageMeta | undefined {
  if (step.def.family === "colour" || step.def.family === "filter") return meta;
  if (step.op.op === "flip") return meta;
  const size = step.def.outputSize?.(meta, step.op as never);
  return size && { ...meta, width: size.width, height: size.height };
}

function rawMeta(stage: RawStage, sourceFormat: string): ImageMeta {
  return {
    width: stage.width,
    height: stage.height,
    pages: stage.pages,
    channels: stage.channels,
    hasAlpha: stage.channels === 2 || stage.channels === 4,
    sourceFormat,
  };
}

function stepError(e: unknown, step: Step): ImageEditError {
  const field = `operations[${step.index}]`;
  if (isImageEditError(e)) {
    if (e.message.startsWith("operations[")) return e;
    return new ImageEditError(e.code, `${field} (${step.op.op}): ${e.message}`, {
      field: e.field ?? field,
      details: e.details,
      retryable: e.retryable,
      cause: e,
    });
  }
  const message = e instanceof Error ? e.message.split("\n")[0] : String(e);
  return new ImageEditError("PROCESSING_FAILED", `${field} (${step.op.op}): ${message}`, { field, cause: e });
}

function abortError(signal?: AbortSignal): ImageEditError {
  const reason = signal?.reason;
  if (isImageEditError(reason)) return reason;
  if (reason instanceof Error && reason.name === "TimeoutError")
    return new ImageEditError("PROCESSING_TIMEOUT", "image processing was stopped: it took too long");
  return new ImageEditError("PROCESSING_FAILED", "image processing was cancelled");
}
