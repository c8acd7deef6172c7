// The Prometheus metrics an operator reads, on a real server on loopback: each documented series
// exists with its type and labels and moves by exactly what happened — an image done, images failed
// per code, a retry, requests refused — gauges come back to 0, the job histogram counts one
// observation per finished image, and no request can mint new label values.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeImage } from "../helpers/images.js";
import {
  editUntilComplete,
  type ImageSource,
  type Json,
  startServiceWithSource,
  type TestService,
} from "../http/harness.js";

let src: ImageSource;
let svc: TestService;
let close: () => Promise<void>;

/** The exposition's samples: `name{labels}` -> value (labels as written, in order). */
async function scrape(): Promise<{ text: string; samples: Map<string, number> }> {
  const res = await fetch(`${svc.base}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^([a-z_:][a-z0-9_:]*(?:\{[^}]*\})?) (\S+)$/i.exec(line);
    if (m) samples.set(m[1], Number(m[2]));
  }
  return { text, samples };
}
const value = (s: Map<string, number>, key: string) => s.get(key) ?? 0;

async function runEdit(images: { id: string; url: string }[]): Promise<Json> {
  const { started, sse } = await editUntilComplete(svc, {
    images,
    operation: { type: "operations", operations: [{ op: "resize", width: 16 }] },
  });
  await sse.done; // the server ends the stream after `complete`
  await svc.server.idle();
  return started;
}

beforeAll(async () => {
  ({ src, svc, close } = await startServiceWithSource());
  src.set("/a.png", await makeImage({ width: 40, height: 30 }));
  src.set("/b.png", await makeImage({ width: 30, height: 40 }));
  src.set("/text.png", Buffer.from("plain text, not an image"));
});

afterAll(() => close?.());

describe("job metrics", () => {
  it("move by one per image: done, failed per code, retried; one duration observation each", async () => {
    const before = (await scrape()).samples;
    src.failFirst("/b.png", 1); // one 503, then the image: a retry that ends done
    await runEdit([
      { id: "a", url: `${src.base}/a.png` },
      { id: "b", url: `${src.base}/b.png` },
      { id: "text", url: `${src.base}/text.png` },
      { id: "gone", url: `${src.base}/missing.png` },
      { id: "private", url: "http://10.1.2.3/x.png" },
    ]);
    const { text, samples: after } = await scrape();
    const delta = (key: string) => value(after, key) - value(before, key);
    expect(delta('imgedit_jobs_total{outcome="done",code="none"}')).toBe(2);
    expect(delta('imgedit_jobs_total{outcome="failed",code="UNSUPPORTED_FORMAT"}')).toBe(1);
    expect(delta('imgedit_jobs_total{outcome="failed",code="FETCH_FAILED"}')).toBe(1);
    expect(delta('imgedit_jobs_total{outcome="failed",code="FETCH_BLOCKED"}')).toBe(1);
    expect(delta('imgedit_job_retries_total{code="FETCH_FAILED"}')).toBe(1);
    expect(delta('imgedit_job_duration_seconds_count{outcome="done"}')).toBe(2);
    expect(delta('imgedit_job_duration_seconds_count{outcome="failed"}')).toBe(3);
    expect(delta('imgedit_job_duration_seconds_bucket{le="+Inf",outcome="done"}')).toBe(2);
    expect(delta("imgedit_images_total")).toBe(5);
    expect(delta('imgedit_sessions_total{operation="operations"}')).toBe(1);
    expect(delta('imgedit_bytes_out_total{kind="result"}')).toBeGreaterThan(0);
    // Types as documented.
    for (const [name, type] of [
      ["imgedit_jobs_total", "counter"],
      ["imgedit_job_retries_total", "counter"],
      ["imgedit_job_duration_seconds", "histogram"],
      ["imgedit_http_requests_total", "counter"],
      ["imgedit_http_request_duration_seconds", "histogram"],
      ["imgedit_queue_depth", "gauge"],
      ["imgedit_sse_clients", "gauge"],
      ["imgedit_bytes_in_total", "counter"],
      ["imgedit_bytes_out_total", "counter"],
      ["imgedit_images_total", "counter"],
      ["imgedit_sessions_total", "counter"],
    ])
      expect(text).toContain(`# TYPE ${name} ${type}`);
    // Work over, streams closed: the gauges are back to 0.
    expect(after.get("imgedit_queue_depth")).toBe(0);
    expect(after.get("imgedit_sse_clients")).toBe(0);
  });
});

describe("request metrics", () => {
  it("count refused requests by route and status, and hostile paths and methods add no label values", async () => {
    const before = await scrape();
    await svc.api("/image-edit", { method: "POST", body: "{not json" }); // 400
    await svc.api("/image-edit/sessions", { user: null }); // 401
    await svc.api("/image-edit/sessions/nope"); // 404 on a known route
    for (let i = 0; i < 20; i++) {
      await fetch(`${svc.base}/random-${i}/${"x".repeat(i)}?q=${i}`);
      await fetch(`${svc.base}/image-edit/sessions/${i}`, { method: "PROPFIND" });
    }
    const after = await scrape();
    const delta = (key: string) => value(after.samples, key) - value(before.samples, key);
    expect(delta('imgedit_http_requests_total{method="POST",route="/image-edit",status="400"}')).toBe(1);
    expect(delta('imgedit_http_requests_total{method="GET",route="/image-edit/sessions",status="401"}')).toBe(1);
    expect(delta('imgedit_http_requests_total{method="GET",route="/image-edit/sessions/:id",status="404"}')).toBe(1);
    expect(delta('imgedit_http_requests_total{method="GET",route="unmatched",status="404"}')).toBe(20);
    expect(delta('imgedit_http_requests_total{method="unknown",route="unmatched",status="405"}')).toBe(20);
    expect(after.text).not.toContain("random-");
    // 40 distinct paths made 2 new series of requests (+ their histograms), not 40.
    const series = (t: string) => t.split("\n").filter((l) => l.startsWith("imgedit_http_requests_total{")).length;
    expect(series(after.text) - series(before.text)).toBeLessThanOrEqual(5);
  });
});
