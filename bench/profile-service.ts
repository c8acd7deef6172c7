// Where the service's time goes beyond the pixels: runs edits through a local server started
// with --cpu-prof, then prints the server's CPU per image and the JavaScript functions (main
// thread) that took the most time, inclusive, in src/ and node_modules.
//   npx tsx bench/profile-service.ts [images=120] [concurrency=2]
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { mintToken, runSession, startImageServer, startServerProcess } from "./loopback.js";
import { parseOptions } from "./options.js";
import { BENCH_SECRET, benchServerEnv, SERVICE_COMMAND } from "./service.js";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Inclusive time per function of this repository's code and its dependencies, in ms. */
function inclusiveTimes(p: Profile, root: string): [string, number][] {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const totals = new Map<string, number>();
  const prefix = `file://${root}/`;
  p.samples.forEach((sample, i) => {
    const seen = new Set<string>();
    for (let id: number | undefined = sample; id !== undefined; id = parent.get(id)) {
      const f = byId.get(id)?.callFrame;
      if (!f?.url.startsWith(prefix)) continue;
      const key = `${f.functionName || "(anonymous)"} ${f.url.slice(prefix.length)}:${f.lineNumber + 1}`;
      if (seen.has(key)) continue;
      seen.add(key);
      totals.set(key, (totals.get(key) ?? 0) + p.timeDeltas[i] / 1000);
    }
  });
  return [...totals].sort((a, b) => b[1] - a[1]);
}

async function main(): Promise<void> {
  const images = Number(process.argv[2] ?? 120);
  const concurrency = Number(process.argv[3] ?? 2);
  const o = parseOptions([], process.env);
  const work = await mkdtemp(path.join(os.tmpdir(), "imgedit-profile-"));
  const profDir = path.join(work, "prof");
  const img = await startImageServer({ "photo.jpg": o.photoPath });
  const server = await startServerProcess(benchServerEnv(path.join(work, "data"), img.host, o.concurrency), 60_000, [
    "--cpu-prof",
    `--cpu-prof-dir=${profDir}`,
  ]);
  try {
    const token = await mintToken(BENCH_SECRET, "profile");
    let seq = 0;
    const one = () =>
      runSession(
        server.url,
        token,
        [{ id: `p${seq++}`, url: `${img.url}/photo.jpg`, name: "photo.jpg" }],
        SERVICE_COMMAND,
      );
    for (let i = 0; i < o.serviceWarmup; i++) await one(); // warm-up, as the service bench does
    const cpu0 = server.cpuMs() ?? 0;
    let next = 0;
    let failed = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next++ < images) if (!(await one()).ok) failed++;
      }),
    );
    const cpu = ((server.cpuMs() ?? 0) - cpu0) / images;
    await server.close();
    process.stdout.write(
      `server CPU per image: ${cpu.toFixed(1)} ms (${images} images, ${failed} failed, profiling on)\n`,
    );
    // the main thread's profile is the first one written (thread 0)
    const files = (await readdir(profDir)).filter((f) => f.endsWith(".cpuprofile")).sort();
    const main = files.find((f) => /\.0\.\d+\.cpuprofile$/.test(f)) ?? files[0];
    if (!main) throw new Error("no profile written");
    const p = JSON.parse(await readFile(path.join(profDir, main), "utf8")) as Profile;
    process.stdout.write(
      `main thread, inclusive ms over the whole run (start-up included), per image ≈ ms / ${images}:\n`,
    );
    for (const [k, ms] of inclusiveTimes(p, o.repoRoot).slice(0, 30))
      process.stdout.write(`${ms.toFixed(0).padStart(8)} ms  ${k}\n`);
  } finally {
    await server.close();
    await img.close();
    if (process.env.PROFILE_KEEP) process.stdout.write(`profiles kept in ${profDir}\n`);
    else await rm(work, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`profile-service: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
