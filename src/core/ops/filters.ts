// Convolution filters: blur, sharpen, median. The pipeline runs them frame by frame on animations
// (the default `frames: "each"`), so frames never bleed into each other.
import { z } from "zod";
import { ImageEditError } from "../errors.js";
import { defineOperation, opSchema } from "./define.js";

export const blur = defineOperation({
  name: "blur",
  family: "filter",
  summary: "Gaussian blur; sigma is the radius-like strength (0.3-1000, default 3).",
  schema: opSchema("blur", { sigma: z.number().min(0.3).max(1000).default(3) }),
  describe: (o) => `Blur (sigma ${o.sigma})`,
  words: ["blur", "blurry", "blurred", "soften", "smooth", "defocus"],
  keepsAnimation: true,
  apply: (image, o) => image.blur(o.sigma),
});

export const sharpen = defineOperation({
  name: "sharpen",
  family: "filter",
  summary: "Unsharp-mask sharpening; sigma sets the strength (0.01-10, default 1).",
  schema: opSchema("sharpen", { sigma: z.number().min(0.01).max(10).default(1) }),
  describe: (o) => `Sharpen (sigma ${o.sigma})`,
  words: ["sharpen", "sharper", "sharp", "crisp", "crisper", "crispen", "clarity", "detail", "unblur", "deblur"],
  keepsAnimation: true,
  apply: (image, o) => image.sharpen({ sigma: o.sigma }),
});

export const median = defineOperation({
  name: "median",
  family: "filter",
  summary: "Median filter (removes speckle noise); size is the odd window width (3-15).",
  schema: opSchema("median", {
    size: z
      .number()
      .int()
      .min(3)
      .max(15)
      .refine((n) => n % 2 === 1, "median size must be odd")
      .default(3),
  }),
  describe: (o) => `Median filter ${o.size}x${o.size}`,
  words: ["median", "denoise", "despeckle", "noise"],
  keepsAnimation: true,
  apply: (image, o, { meta }) => {
    // libvips refuses a window larger than the image ("rank: window too large"): the plan's fault
    if (o.size > Math.min(meta.width, meta.height))
      throw new ImageEditError(
        "INVALID_OPERATION",
        `median ${o.size}x${o.size} is larger than the ${meta.width}x${meta.height} image`,
      );
    return image.median(o.size);
  },
});
