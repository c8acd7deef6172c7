import { spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { mintToken, runSession, startImageServer, startServerProcess } from "./loopback.js";
import { parseOptions } from "./options.js";
import { BENCH_SECRET, benchServerEnv, SERVICE_COMMAND } from "./service.js";

const n = Number(process.argv[2] ?? 300),
  c = Number(process.argv[3] ?? 4);
const o = parseOptions([], process.env);
const work = await mkdtemp(path.join(os.tmpdir(), "exp-"));
const img = await startImageServer({ "photo.jpg": o.photoPath });
const server = await startServerProcess(benchServerEnv(path.join(work, "data"), img.host, 2), 60000, [
  "--perf-basic-prof", ...(process.env.SRV_ARGS ?? "").split(" ").filter(Boolean),
]);
const token = await mintToken(BENCH_SECRET, "x");
let seq = 0;
const one = () =>
  runSession(server.url, token, [{ id: `p${seq++}`, url: `${img.url}/photo.jpg`, name: "photo.jpg" }], SERVICE_COMMAND);
{ let k = 0; const W = Number(process.env.WARM ?? 10); await Promise.all(Array.from({ length: 4 }, async () => { while (k++ < W) await one(); })); }
const perf = spawn(
  "perf",
  ["record", "-F", "2000", "-e", "cpu-clock", ...(process.env.PERF_ARGS ?? "-g").split(" "), "-o", "/tmp/srv.perf", ...(process.env.PERF_T ? ["-t", String(server.pid)] : ["-p", String(server.pid)])],
  { stdio: "inherit" },
);
await new Promise((r) => setTimeout(r, 500));
let next = 0;
await Promise.all(
  Array.from({ length: c }, async () => {
    while (next++ < n) await one();
  }),
);
perf.kill("SIGINT");
await new Promise((r) => perf.on("exit", r));
await server.close();
await img.close();
