// Which consecutive plan steps may run in ONE sharp chain without changing a single pixel.
//
// sharp applies a chain's operations in its own fixed order (src/pipeline.cc in sharp 0.35):
// resize -> flip/flop -> rotate by 90s -> the resize's crop/embed to its box (fit cover/contain)
// -> extract (after a resize) -> extend -> median -> recomb -> modulate -> sharpen -> gamma (out)
// -> linear, each at most once. A step may join the chain
// only when sharp would run it after everything already in the chain (so the plan's order is
// kept), its option slot is still free, and the result cannot differ from running it on the
// materialised uchar pixels of the previous step. Every rule has an equality test in
// test/core/pipeline-fusion.test.ts; anything not listed here runs alone.
import type { Operation } from "./operations.js";
import type { ImageMeta } from "./ops/define.js";

export interface Chain {
  /** sharp's internal position of the last operation in the chain. */
  rank: number;
  slots: Set<string>;
  hasResize: boolean;
  /**
   * The resize crops or embeds to its box (fit cover/contain, smart crops). sharp does that after
   * mirroring and rotating, so a mirror or turn would move the box (by a pixel when the margin is
   * odd, to the other side for an off-centre gravity): neither may join such a chain.
   */
  boxed: boolean;
  /** A rotation by an odd number of quarter turns is in the chain (mirrors after it swap axes). */
  oddQuarterTurn: boolean;
  /** Nothing may join (an operation outside the table, or a float result such as linear). */
  closed: boolean;
}

interface Entry {
  slot: string;
  rank: number;
  /** A pure rearrangement of pixels: exact in any chain, alpha or not. */
  permutation: boolean;
}

type Op = Operation & Record<string, unknown>;

/** Operations that read a neighbourhood of pixels. */
const WINDOWED = new Set(["median", "sharpen"]);

/** sharp's internal order for the operations the table knows; undefined = never fused. */
function entry(op: Op, hasResize: boolean): Entry | undefined {
  switch (op.op) {
    case "resize":
    case "scale":
      return { slot: "resize", rank: 10, permutation: false };
    case "crop":
      if (!isRegionCrop(op)) return { slot: "resize", rank: 10, permutation: false }; // smart crop = resize(cover)
      // extract() before a resize is sharp's pre-resize extract; after one, its post-resize extract
      return { slot: "extract", rank: hasResize ? 30 : 5, permutation: true };
    case "flip":
      return { slot: "mirror", rank: 20, permutation: true };
    case "rotate":
      return quarterTurns(op.angle as number) === undefined ? undefined : { slot: "rot", rank: 21, permutation: true };
    case "pad":
    case "border":
      return { slot: "extend", rank: 40, permutation: false };
    case "median":
      return { slot: "median", rank: 50, permutation: false };
    case "sepia":
      return { slot: "recomb", rank: 55, permutation: false };
    case "saturation":
    case "hue":
    case "grayscale":
      return { slot: "modulate", rank: 60, permutation: false };
    case "sharpen":
      return { slot: "sharpen", rank: 70, permutation: false };
    case "gamma":
      return { slot: "gammaOut", rank: 80, permutation: false };
    case "brightness":
    case "contrast":
      return { slot: "linear", rank: 90, permutation: false };
    default:
      return undefined;
  }
}

/** A chain holding just `head` (which always runs, fused or not). */
export function startChain(head: Operation): Chain {
  const op = head as Op;
  const e = entry(op, false);
  return {
    rank: e?.rank ?? Number.POSITIVE_INFINITY,
    slots: new Set(e ? [e.slot] : []),
    hasResize: e?.slot === "resize",
    boxed: e?.slot === "resize" && isBoxed(op),
    oddQuarterTurn: op.op === "rotate" && e !== undefined && (quarterTurns(op.angle as number) as number) % 2 === 1,
    // linear leaves float pixels; what follows it in sharp (negate, tint, ...) would see those
    closed: !e || e.slot === "linear",
  };
}

/**
 * Whether `next` may join `chain`, given the image entering it (`meta`, predicted) and whether
 * the chain reads the encoded input. Returns the operation to apply in the chain (a mirror after
 * an odd quarter turn becomes the other mirror: sharp mirrors before it rotates), or undefined.
 */
export function joinChain(chain: Chain, next: Operation, meta: ImageMeta, readsInput: boolean): Operation | undefined {
  const op = next as Op;
  if (chain.closed) return undefined;
  const e = entry(op, chain.hasResize);
  if (!e || chain.slots.has(e.slot)) return undefined;
  // A mirror straight after a quarter turn runs before it in sharp, as the equivalent mirror.
  const mirrorAfterTurn = e.slot === "mirror" && chain.rank === 21;
  if (e.rank <= chain.rank && !mirrorAfterTurn) return undefined;
  if ((e.slot === "mirror" || e.slot === "rot") && chain.boxed) return undefined;
  // Equal either way, but libvips recomputes one window filter's overlap for the next one's
  // window: median + sharpen in one chain measured ~40% slower than materialising between them.
  if (WINDOWED.has(e.slot) && [...chain.slots].some((s) => WINDOWED.has(s))) return undefined;
  // Premultiplied alpha spans a chain with a resize (or filter) in sharp: only rearranging pixels
  // is certainly unaffected by it. Grey images take other colourspace paths: not proven, not fused.
  if (!e.permutation && (meta.hasAlpha || meta.channels !== 3)) return undefined;
  if (e.slot === "extract") {
    // Only a post-resize extract, and only of a region that does not depend on the exact size
    // the resize produces (the predicted size may round the other way by one pixel).
    if (!chain.hasResize) return undefined;
    const { left = 0, top = 0, width, height } = op as { left?: number; top?: number; width: number; height: number };
    if (left + width > meta.width - 1 || top + height > meta.height - 1) return undefined;
  }
  // sharp's gamma(1, out) also sets an input gamma of 1, which turns off JPEG shrink-on-load.
  if (e.slot === "gammaOut" && (readsInput || chain.hasResize)) return undefined;
  chain.rank = Math.max(chain.rank, e.rank);
  chain.slots.add(e.slot);
  if (e.slot === "linear") chain.closed = true;
  if (e.slot === "rot") chain.oddQuarterTurn = (quarterTurns(op.angle as number) as number) % 2 === 1;
  if (e.slot === "mirror" && chain.oddQuarterTurn)
    return { ...op, direction: op.direction === "vertical" ? "horizontal" : "vertical" } as Operation;
  return next;
}

/** A resize-slot operation that sharp finishes by cropping or embedding to its box. */
function isBoxed(op: Op): boolean {
  if (op.op === "crop") return true; // a smart crop is resize(cover) at its gravity
  return op.op === "resize" && (op.fit === "cover" || op.fit === "contain");
}

function isRegionCrop(op: Op): boolean {
  return op.left !== undefined || op.top !== undefined;
}

/** 1-3 for a rotation by a whole number of quarter turns (not a full turn); else undefined. */
function quarterTurns(angle: number): number | undefined {
  if (!Number.isInteger(angle) || angle % 90 !== 0) return undefined;
  const q = (((angle / 90) % 4) + 4) % 4;
  return q === 0 ? undefined : q;
}
