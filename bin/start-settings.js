// What the service needs in place before its process starts: glibc, libuv and V8 read these only
// at start-up. Used by the launcher (bin/imgedit.js) and by the benchmarks, which start the server
// the same way.
import os from "node:os";

// Under a steady stream of images V8 settles on an old-generation limit a few MB above the live
// heap, and then runs a full mark-compact every ~100 ms (measured: 165 majors per 2100 edits,
// server CPU per image +12%). A 128 MB first limit keeps majors rare (1 per 4600 edits) for
// ~70 MB more RSS. Node refuses this flag in NODE_OPTIONS, so it goes on the command line.
const HEAP_FLAG = "--initial-old-space-size";
const HEAP_MB = 128;

/**
 * The settings missing from `env` and `execArgv`; values the user set win.
 * @param {NodeJS.ProcessEnv} env
 * @param {string[]} execArgv
 * @returns {{ env: Record<string, string>, nodeArgs: string[] }}
 */
export function startSettings(env, execArgv) {
  const out = {};
  // glibc malloc fragments under libvips.
  if (!env.MALLOC_ARENA_MAX) out.MALLOC_ARENA_MAX = "2";
  // sharp holds one libuv pool thread per image for the whole decode-resize-encode, and file and
  // DNS work waits for the same pool (4 threads by default): leave 4 free beside the images.
  if (!env.UV_THREADPOOL_SIZE) {
    const images = Number(env.WORKER_CONCURRENCY) || os.availableParallelism();
    out.UV_THREADPOOL_SIZE = String(Math.min(1024, Math.max(4, images + 4)));
  }
  const hasHeapFlag = execArgv.some((a) => a.replaceAll("_", "-").startsWith(HEAP_FLAG));
  return { env: out, nodeArgs: hasHeapFlag ? [] : [`${HEAP_FLAG}=${HEAP_MB}`] };
}
