import { readdirSync, readFileSync } from "node:fs";

function ctx() {
  let v = 0, n = 0;
  for (const t of readdirSync(`/proc/self/task`)) {
    try {
      const st = readFileSync(`/proc/self/task/${t}/status`, "utf8");
      v += Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(st)![1]);
      n += Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(st)![1]);
    } catch {}
  }
  return [v, n];
}
function threads() {
  const m = new Map<string, number>();
  for (const t of readdirSync(`/proc/self/task`)) {
    const s = readFileSync(`/proc/self/task/${t}/stat`, "utf8");
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    m.set(`${s.slice(s.indexOf("(") + 1, s.lastIndexOf(")"))}#${t}`, (Number(f[11]) + Number(f[12])) * 10);
  }
  return m;
}

import { WorkerPool } from "../src/adapters/local/worker-pool.js";
import { DEFAULT_LIMITS } from "../src/core/limits.js";
import { processImage } from "../src/core/pipeline.js";
import { validatePlan } from "../src/core/plan.js";

const input = readFileSync("../shared/fixtures/2569067123_aca715a2ee_o.jpg");
const plan = validatePlan([{ op: "resize", width: 800 }] as never, DEFAULT_LIMITS);
const mode = process.argv[2];
const n = Number(process.argv[3] ?? 200);
const c = Number(process.argv[4] ?? 4);
const pool = mode === "pool" ? new WorkerPool(Number(process.env.W ?? 2)) : undefined;
const one = async () => {
  const buf = Buffer.from(input);
  if (pool) await pool.processOwned(buf, plan, { limits: DEFAULT_LIMITS } as never);
  else await processImage(buf, plan, { limits: DEFAULT_LIMITS } as never);
};
for (let i = 0; i < 10; i++) await one();
const th0 = threads();
const cx0 = ctx();
const c0 = process.cpuUsage();
const t0 = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: c }, async () => {
    while (next++ < n) await one();
  }),
);
const cpu = process.cpuUsage(c0);
const wall = performance.now() - t0;
console.log(
  mode,
  "cpu ms/img",
  ((cpu.user + cpu.system) / 1000 / n).toFixed(1),
  "img/s",
  ((n / wall) * 1000).toFixed(1),
);
const th1 = threads();
const cx1 = ctx();
console.log("ctx per image: voluntary", ((cx1[0] - cx0[0]) / n).toFixed(0), "involuntary", ((cx1[1] - cx0[1]) / n).toFixed(0));
for (const [k, v] of th1) {
  const d = (v - (th0.get(k) ?? 0)) / n;
  if (d > 0.05) console.log("  ", k, d.toFixed(2));
}
await pool?.close?.();
process.exit(0);
