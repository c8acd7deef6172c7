// Memory kept while a body arrives in tiny chunks: what a reader holds per chunk shows here.
import v8 from "node:v8";
import vm from "node:vm";

/**
 * `data` one byte per chunk, each chunk its own Buffer object, as a body sent in 1-byte HTTP chunks
 * arrives. An async generator, not a Readable: iterating a Readable whose read() refills itself
 * synchronously keeps ~150 bytes per chunk inside Node until the end (Node 20), which would be
 * measured here as the reader's; wrap it in Readable.from() for 'data' events.
 */
export async function* oneByteChunks(data: Buffer): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i++) yield data.subarray(i, i + 1);
}

v8.setFlagsFromString("--expose-gc");
/** A full collection, so that what is measured is what is really kept, not garbage not yet swept. */
const gc = vm.runInNewContext("gc") as () => void;

const live = () => {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

/**
 * Live heap plus ArrayBuffer memory above what was live when this was made: call `sample()` while
 * the read goes on (from onBytes, every 64 KB or so: each sample is a full GC), `peak` is the most
 * seen.
 */
export function memoryGrowth() {
  const baseline = live();
  const state = {
    peak: 0,
    sample() {
      state.peak = Math.max(state.peak, live() - baseline);
    },
  };
  return state;
}
