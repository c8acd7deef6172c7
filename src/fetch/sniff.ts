// Sniffing is pure and core's header probe needs it too (to refuse SVG before librsvg parses it):
// it lives in src/core/sniff.ts; fetch re-exports it for its callers.
export {
  type ImageType,
  opensLikeXml,
  requireImageType,
  SNIFF_BYTES,
  SVG_PROLOGUE_BYTES,
  sniffImageType,
  sniffInput,
} from "../core/sniff.js";
