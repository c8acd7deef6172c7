// ImageMagick 7 (magick-wasm), loaded lazily: only plans with an ImageMagick effect pay for the
// ~15 MB wasm module. Pixels cross the boundary as raw 8-bit RGB(A).
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { ImageEditError } from "./errors.js";

type MagickModule = typeof import("@imagemagick/magick-wasm");
type MagickImage = import("@imagemagick/magick-wasm").IMagickImage;

let explicitWasmPath: string | undefined;
let loading: Promise<MagickModule> | undefined;
let loaded = false;

/**
 * Where to read `magick.wasm` from, for bundles (Lambda) that do not ship node_modules.
 * Call before the first effect runs.
 */
export function setMagickWasmPath(path: string | undefined): void {
  explicitWasmPath = path;
}

/** Whether ImageMagick has been initialised in this process (the common path never does). */
export function isMagickLoaded(): boolean {
  return loaded;
}

/**
 * The x86 (32-bit memory) build: the x64/memory64 build does not run on Node 20.
 * An explicit path is the only candidate when set (a bundle that names it must ship it);
 * otherwise the package's export (works from src/, dist/ and node_modules), then a
 * `magick.wasm` copied next to this module (bundles that did not call setMagickWasmPath).
 */
function wasmCandidates(): string[] {
  if (explicitWasmPath) return [explicitWasmPath];
  const out: string[] = [];
  try {
    out.push(createRequire(import.meta.url).resolve("@imagemagick/magick-wasm/magick.wasm"));
  } catch {
    // not resolvable (bundled without node_modules): fall through to the sibling file
  }
  out.push(fileURLToPath(new URL("./magick.wasm", import.meta.url)));
  return out;
}

async function readWasm(): Promise<Uint8Array> {
  const tried: string[] = [];
  for (const path of wasmCandidates()) {
    try {
      return await readFile(path);
    } catch {
      tried.push(path);
    }
  }
  throw new ImageEditError(
    "INTERNAL",
    `ImageMagick is not available: magick.wasm not found (looked in ${tried.join(", ")})`,
  );
}

async function load(): Promise<MagickModule> {
  const [mod, bytes] = await Promise.all([import("@imagemagick/magick-wasm"), readWasm()]);
  await mod.initializeImageMagick(bytes);
  loaded = true;
  return mod;
}

/** The initialised magick-wasm module; concurrent first calls share one initialisation. */
export function loadMagick(): Promise<MagickModule> {
  if (!loading) {
    loading = load().catch((e: unknown) => {
      loading = undefined; // a later call may retry (e.g. after setMagickWasmPath)
      throw e instanceof ImageEditError
        ? e
        : new ImageEditError("INTERNAL", `ImageMagick failed to initialise: ${(e as Error)?.message ?? e}`, {
            cause: e,
          });
    });
  }
  return loading;
}

/**
 * ImageMagick runs in 32-bit wasm (4 GB address space) and keeps a few copies of the image while
 * an effect runs; above this it can run out of memory, which would leave the module unusable.
 */
export const MAGICK_MAX_PIXELS = 40_000_000;

/** 8-bit sRGB pixels, interleaved (RGB or RGBA). */
export interface MagickPixels {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 3 | 4;
}

/**
 * Run `edit` on raw pixels and return the result as RGBA (effects may add transparency or change
 * the size). Raw pixels, not PNG: zlib inside wasm costs seconds on a photo.
 * magick-wasm is synchronous: this blocks the thread it runs on (the local server runs images in
 * worker threads; a Lambda runs one image per invocation).
 */
export async function withMagickImage(
  input: MagickPixels,
  edit: (image: MagickImage, magick: MagickModule) => void,
): Promise<MagickPixels & { data: Buffer; channels: 4 }> {
  const pixels = input.width * input.height;
  if (pixels > MAGICK_MAX_PIXELS) {
    throw new ImageEditError(
      "PIXEL_LIMIT",
      `ImageMagick effects work on images up to ${MAGICK_MAX_PIXELS.toLocaleString("en-US")} pixels; this one has ${pixels.toLocaleString("en-US")} (${input.width}x${input.height}): resize it first`,
      { details: { pixels, limit: MAGICK_MAX_PIXELS } },
    );
  }
  const magick = await loadMagick();
  const settings = new magick.MagickReadSettings({
    format: input.channels === 4 ? magick.MagickFormat.Rgba : magick.MagickFormat.Rgb,
    width: input.width,
    height: input.height,
  });
  try {
    return magick.ImageMagick.read(input.data, settings, (image) => {
      edit(image, magick);
      const { width, height } = image;
      // `data` is a view into wasm memory, valid only inside the callback: copy it out.
      return image.write(magick.MagickFormat.Rgba, (data) => ({
        data: Buffer.from(data),
        width,
        height,
        channels: 4 as const,
      }));
    });
  } catch (e) {
    if (e instanceof ImageEditError) throw e;
    throw new ImageEditError("PROCESSING_FAILED", `ImageMagick failed: ${(e as Error)?.message ?? e}`, { cause: e });
  }
}

// magick-wasm 0.0.43 ships SwirlImage and PolaroidImage in its wasm but has no TypeScript wrapper
// for them; these call the exported native functions the way the library's own wrappers do
// (`useException` + `_setInstance`). The version is pinned in package.json; a test covers both.
interface NativeImage {
  _instance: number;
  useException(fn: (exception: { ptr: number }) => void): void;
  _setInstance(instance: number, exception: { ptr: number }): void;
}
type NativeApi = Record<string, ((...args: number[]) => number) | undefined> & { _NullPointer: number };

function nativeApi(magick: MagickModule, fn: string): NativeApi {
  const api = (magick.ImageMagick as unknown as { _api: NativeApi })._api;
  if (typeof api[fn] !== "function") {
    throw new ImageEditError("INTERNAL", `this ImageMagick build lacks ${fn}`);
  }
  return api;
}

/** Replace the image with the result of a native call, raising ImageMagick's exception if any. */
function replaceWith(image: MagickImage, call: (instance: number, exceptionPtr: number) => number): void {
  const native = image as unknown as NativeImage;
  // biome-ignore lint/correctness/useHookAtTopLevel: magick-wasm's own method, not a React hook
  native.useException((ex) => native._setInstance(call(native._instance, ex.ptr), ex));
}

/** SwirlImage: rotate pixels around the centre, more near it (degrees at the centre). */
export function swirlImage(image: MagickImage, magick: MagickModule, degrees: number): void {
  const api = nativeApi(magick, "_MagickImage_Swirl");
  replaceWith(image, (instance, ex) =>
    api._MagickImage_Swirl!(instance, magick.PixelInterpolateMethod.Undefined, degrees, ex),
  );
}

/** PolaroidImage: white frame, curl, drop shadow, rotated by angle; no caption. */
export function polaroidImage(image: MagickImage, magick: MagickModule, angle: number): void {
  const api = nativeApi(magick, "_MagickImage_Polaroid");
  const drawInfo = api._DrawingSettings_Create!();
  try {
    replaceWith(image, (instance, ex) =>
      api._MagickImage_Polaroid!(
        instance,
        drawInfo,
        api._NullPointer,
        angle,
        magick.PixelInterpolateMethod.Undefined,
        ex,
      ),
    );
  } finally {
    api._DrawingSettings_Dispose!(drawInfo);
  }
}
