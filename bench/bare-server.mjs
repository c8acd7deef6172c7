// Child process: the floor the service bench compares imgedit's server with. Per edit it does the
// same input and output as the real server, and nothing else: a JSON POST answered 202, the source
// fetched over a kept-alive loopback connection, imgedit's processImage (same plan, same pool
// sizes: twice as many jobs as images processed at once), the result written to a file, and one
// `complete` event on the progress stream. No auth, sessions, validation, fetch policy, metrics or
// logs. Started by startServerProcess like server-process.mjs; the plan comes as BARE_PLAN (JSON).
import { writeFile } from "node:fs/promises";
import http from "node:http";
import path from "node:path";

const { processImage } = await import("../dist/core/pipeline.js");
const { DEFAULT_LIMITS } = await import("../dist/core/limits.js");
const { validatePlan } = await import("../dist/core/plan.js");

const plan = validatePlan(JSON.parse(process.env.BARE_PLAN ?? "[]"), DEFAULT_LIMITS);
const dataDir = process.env.DATA_DIR ?? ".";
const images = Math.max(1, Number(process.env.WORKER_CONCURRENCY) || 1);
const agent = new http.Agent({ keepAlive: true });

/** id -> { done?: string (the complete event's data), waiting?: response } */
const sessions = new Map();
let nextId = 0;

function limiter(size) {
  let running = 0;
  const queue = [];
  const release = () => {
    running--;
    queue.shift()?.();
  };
  return async (fn) => {
    if (running >= size) await new Promise((r) => queue.push(r));
    running++;
    try {
      return await fn();
    } finally {
      release();
    }
  };
}
const jobSlot = limiter(images * 2);
const pixelSlot = limiter(images);

function fetchSource(url) {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        const parts = [];
        res.on("data", (d) => parts.push(d));
        res.on("end", () =>
          res.statusCode === 200 ? resolve(Buffer.concat(parts)) : reject(new Error(`HTTP ${res.statusCode}`)),
        );
        res.on("error", reject);
      })
      .on("error", reject);
  });
}

function finish(id, data) {
  const s = sessions.get(id);
  if (!s) return;
  if (!s.waiting) {
    s.done = data;
    return;
  }
  s.waiting.end(`id: 1\nevent: complete\ndata: ${data}\n\n`);
  sessions.delete(id);
}

async function run(id, url) {
  try {
    await jobSlot(async () => {
      const input = await fetchSource(url);
      const out = await pixelSlot(() => processImage(input, plan, { limits: DEFAULT_LIMITS }));
      await writeFile(path.join(dataDir, `${id}.${out.ext}`), out.data);
    });
    finish(id, '{"completed":1,"failed":0}');
  } catch (e) {
    finish(id, JSON.stringify({ completed: 0, failed: 1, images: [{ error: String(e?.message ?? e) }] }));
  }
}

const server = http.createServer((req, res) => {
  if (req.method === "POST" && req.url === "/image-edit") {
    const parts = [];
    req.on("data", (d) => parts.push(d));
    req.on("end", () => {
      const url = JSON.parse(Buffer.concat(parts).toString("utf8")).images?.[0]?.url;
      const id = String(++nextId);
      sessions.set(id, {});
      run(id, url);
      const body = JSON.stringify({ sessionId: id, progressUrl: `/image-edit/progress/${id}` });
      res.writeHead(202, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }).end(body);
    });
    return;
  }
  const m = /^\/image-edit\/progress\/(\d+)$/.exec(req.url ?? "");
  const s = m && sessions.get(m[1]);
  if (!s) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  s.waiting = res;
  if (s.done) finish(m[1], s.done);
});
server.keepAliveTimeout = 5000;
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`IMGEDIT_URL=http://127.0.0.1:${server.address().port}\n`);
});
process.once("SIGTERM", () => process.exit(0));
