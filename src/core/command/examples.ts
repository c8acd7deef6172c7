// Example commands per operation: docs/COMMANDS.md shows them with the plan each one gives
// (computed, never typed by hand), and a test checks every catalog operation is reachable from
// its examples. The type makes a new catalog entry without examples a compile error.
import type { OperationName } from "../operations.js";

export const EXAMPLES: Record<OperationName, readonly string[]> = {
  resize: [
    "resize to 800px",
    "resize to 800x600",
    "make it 1024 wide",
    "height 600",
    "stretch to 640x480",
    "resize to 800x600 with a white background, letterboxed",
    "max 1200px without enlarging",
    "make a thumbnail",
    "square thumbnail of 150px",
    "for instagram",
    "instagram story",
    "twitter header",
  ],
  scale: [
    "make it half the size",
    "scale to 25%",
    "shrink by a third",
    "make it 20% bigger",
    "double the size",
    "make it a little smaller",
  ],
  crop: [
    "crop to a square around the face",
    "crop to 16:9",
    "crop to 800x600 from the top left",
    "800x600 from the top left",
    "crop 800x600 at 10,20",
    "make it portrait",
    "crop to landscape",
  ],
  trim: ["trim the whitespace", "remove the white border", "trim with tolerance 30"],
  pad: ["add 20px padding", "add 50px of black space on the left and right", "pad the top and bottom by 10 pixels"],
  border: ["add a 10px white border", "add a thin red frame", "border 5px #ff8800"],
  rotate: [
    "rotate 90 degrees clockwise",
    "rotate left",
    "turn it upside down",
    "upside down",
    "rotate ninety degrees counterclockwise",
    "rotate 30° with a black background",
    "tilt 3 degrees",
  ],
  flip: ["mirror it", "flip vertically", "flip it upside down"],
  autoOrient: ["auto orient", "fix the orientation"],
  grayscale: ["make it black and white", "greyscale", "b&w", "monochrome"],
  sepia: ["sepia", "make it look vintage"],
  negate: ["invert the colours", "make it a negative"],
  normalize: ["normalize", "auto levels", "enhance"],
  tint: ["tint it blue", "add a #ff8800 tint"],
  brightness: ["make it brighter", "a little darker", "increase brightness by 20%", "much brighter"],
  contrast: ["more contrast", "less contrast", "contrast 130%"],
  saturation: ["make it more vivid", "muted colours", "increase saturation by 50%", "desaturate slightly"],
  hue: ["shift the hue by 90 degrees", "rotate the hue 180"],
  gamma: ["gamma 2.2", "gamma correct"],
  threshold: ["pure black and white", "threshold at 100"],
  posterize: ["posterize", "posterize to 6 levels"],
  blur: ["blur", "blur the background a little", "blur it a lot", "blur 5"],
  sharpen: ["sharpen", "sharpen slightly", "make it much sharper"],
  median: ["denoise", "remove noise a lot", "median 5"],
  text: [
    "put '(c) 2026 Example Co' in the bottom right corner",
    'write "SALE" in the top left in red, large',
    "add the caption 'Summer 2026' at the bottom, 50% opacity",
    "copyright 'Example Co'",
  ],
  watermark: [
    "watermark with https://example.com/logo.png",
    "add the logo https://example.com/logo.png in the top left at 30% opacity",
  ],
  format: [
    "convert to webp",
    "convert to webp at 80% quality",
    "save as jpg, quality 70",
    "export as lossless webp",
    "compress",
    "compress a lot as jpeg",
  ],
  metadata: ["strip metadata", "remove the gps location data", "keep the exif data"],
  vignette: ["add a vignette", "strong vignette"],
  oilPaint: ["make it look like an oil painting"],
  charcoal: ["charcoal sketch", "pencil drawing"],
  swirl: ["swirl", "swirl 180 degrees counterclockwise"],
  polaroid: ["polaroid", "polaroid tilted 5 degrees"],
};

/** Commands with several steps, for the top of the docs. */
export const COMBINED_EXAMPLES: readonly string[] = [
  "resize to 800px and convert to webp",
  "make it half the size and black and white",
  "rotate 90 degrees clockwise then convert to webp at 80% quality",
  "crop to a square, add a 10px white border & save as png",
  "please make it a little brighter, sharpen slightly and strip the metadata.",
  "for instagram, then put '@example' in the bottom left",
];

/** Commands the planner rejects, with what it says. */
export const REJECTED_EXAMPLES: readonly string[] = [
  "make it sparkle",
  "rotate 90 and frobnicate",
  "zoom in",
  "convert to bmp",
  "add text hello",
  "rotate 5000 degrees",
  "save as jpeg, lossless",
];
