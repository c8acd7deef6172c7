import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { mintToken, runSession, startImageServer, startServerProcess } from "./loopback.js";
import { parseOptions } from "./options.js";
import { BENCH_SECRET, benchServerEnv, SERVICE_COMMAND } from "./service.js";

const n = Number(process.argv[2] ?? 120),
  c = Number(process.argv[3] ?? 4);
const o = parseOptions([], process.env);
const work = await mkdtemp(path.join(os.tmpdir(), "exp-"));
const img = await startImageServer({ "photo.jpg": o.photoPath });
const server = await startServerProcess(benchServerEnv(path.join(work, "data"), img.host, Number(process.env.WC ?? o.concurrency)), 60000, (process.env.SRV_ARGS ?? "").split(" ").filter(Boolean));
function ctx() {
  let v = 0, n = 0;
  for (const t of readdirSync(`/proc/${server.pid}/task`)) {
    try {
      const st = readFileSync(`/proc/${server.pid}/task/${t}/status`, "utf8");
      v += Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(st)![1]);
      n += Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(st)![1]);
    } catch {}
  }
  return [v, n];
}
function threads() {
  const m = new Map<string, [number, number]>();
  for (const t of readdirSync(`/proc/${server.pid}/task`)) {
    try {
      const s = readFileSync(`/proc/${server.pid}/task/${t}/stat`, "utf8");
      const name = s.slice(s.indexOf("(") + 1, s.lastIndexOf(")"));
      const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
      const k = `${name}#${t}`;
      m.set(k, [Number(f[11]) * 10, Number(f[12]) * 10]);
    } catch {}
  }
  return m;
}
const token = await mintToken(BENCH_SECRET, "x");
let seq = 0;
const one = () =>
  runSession(server.url, token, [{ id: `p${seq++}`, url: `${img.url}/photo.jpg`, name: "photo.jpg" }], SERVICE_COMMAND);
{ let k = 0; const W = Number(process.env.WARM ?? 8); await Promise.all(Array.from({ length: 4 }, async () => { while (k++ < W) await one(); })); }
const a = threads();
const cx0 = ctx();
const pc0 = server.cpuMs() ?? 0;
let next = 0;
const t0 = performance.now();
const cc0 = process.cpuUsage();
await Promise.all(
  Array.from({ length: c }, async () => {
    while (next++ < n) await one();
  }),
);
const wall = performance.now() - t0;
const cc = process.cpuUsage(cc0);
console.log("client+imageserver ms/img", ((cc.user + cc.system) / 1000 / n).toFixed(2));
const b = threads();
const cx1 = ctx();
console.log("ctx switches per image (live threads): voluntary", ((cx1[0] - cx0[0]) / n).toFixed(0), "involuntary", ((cx1[1] - cx0[1]) / n).toFixed(0));
console.log('process-wide ms/img', (((server.cpuMs() ?? 0) - pc0) / n).toFixed(1));
const agg = new Map<string, [number, number]>();
for (const [k, v] of b) {
  const p = a.get(k) ?? [0, 0];
  const name = k;
  const cur = agg.get(name) ?? [0, 0];
  agg.set(name, [cur[0] + v[0] - p[0], cur[1] + v[1] - p[1]]);
}
let tu = 0,
  ts = 0;
for (const [k, [u, s]] of [...agg].sort((x, y) => y[1][0] + y[1][1] - x[1][0] - x[1][1])) {
  if (u + s === 0) continue;
  tu += u;
  ts += s;
  console.log(k.padEnd(20), (u / n).toFixed(2), (s / n).toFixed(2));
}
console.log(
  "total user/sys ms per image",
  (tu / n).toFixed(1),
  (ts / n).toFixed(1),
  "img/s",
  ((n / wall) * 1000).toFixed(1),
);
await server.close();
await img.close();
