// Limits every image and plan is held to; defaults from the deployment guide.
import type { Config } from "../config.js";

export interface Limits {
  /** Bytes per input image (MAX_IMAGE_SIZE). */
  maxImageBytes: number;
  /** Pixels per side, checked on input (from the header) and on output (MAX_DIMENSIONS). */
  maxDimension: number;
  /** Total input pixels (width x height x frames) against decompression bombs. */
  maxInputPixels: number;
  /**
   * Frames of an animated input (MAX_FRAMES). Steps such as a rotate or an effect run frame by
   * frame, so tiny frames cost time the pixel limit does not see.
   */
  maxFrames: number;
  /** Operations in one plan. */
  maxOperations: number;
  /** Lossy output quality when a plan does not say (DEFAULT_QUALITY). */
  defaultQuality: number;
  /** Wall-clock time for one image's processing. */
  processTimeoutMs: number;
  /** Accept SVG input (rendered without external resources); off by default. */
  allowSvg: boolean;
}

export const DEFAULT_LIMITS: Limits = {
  maxImageBytes: 26_214_400,
  maxDimension: 10_000,
  maxInputPixels: 100_000_000,
  maxFrames: 1000,
  maxOperations: 30,
  defaultQuality: 90,
  processTimeoutMs: 120_000,
  allowSvg: false,
};

export function limitsFromConfig(config: Config): Limits {
  return {
    maxImageBytes: config.MAX_IMAGE_SIZE,
    maxDimension: config.MAX_DIMENSIONS,
    maxInputPixels: config.MAX_INPUT_PIXELS,
    maxFrames: config.MAX_FRAMES,
    maxOperations: config.MAX_OPERATIONS,
    defaultQuality: config.DEFAULT_QUALITY,
    processTimeoutMs: config.PROCESS_TIMEOUT_MS,
    allowSvg: config.ALLOW_SVG,
  };
}
