// Hostile files through the whole service: seeded mutants uploaded with POST /uploads and fetched
// by URL, processed by the worker-thread pool. Every upload is accepted or refused with a typed
// 4xx; every image of every session ends done (its file decodes at the reported size) or failed
// with a typed code; the server stays healthy throughout and completes a clean session after.
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERROR_STATUS } from "../../src/core/errors.js";
import {
  editToCompletion,
  type ImageSource,
  type Json,
  startServiceWithSource,
  type TestService,
} from "../http/harness.js";
import { mutate } from "./fuzz/mutate.js";
import { Rng } from "./fuzz/prng.js";
import { makeSeeds } from "./fuzz/seeds.js";

const SEED = 777;
const MUTANTS = 60;

let src: ImageSource;
let svc: TestService;
let close: () => Promise<void>;
const mutants: { label: string; data: Buffer }[] = [];

beforeAll(async () => {
  ({ src, svc, close } = await startServiceWithSource({
    PROCESS_TIMEOUT_MS: "5000",
    WORKER_CONCURRENCY: "2",
    MAX_CONCURRENT_SESSIONS: "100",
  }));
  const seeds = await makeSeeds();
  const rng = new Rng(SEED);
  for (let i = 0; i < MUTANTS; i++) {
    const s = rng.pick(seeds);
    const m = mutate(rng, s.data);
    mutants.push({ label: `${s.name}: ${m.label}`, data: m.data });
    src.set(`/m${i}`, m.data, "application/octet-stream");
  }
  src.set(
    "/clean.png",
    await sharp({ create: { width: 40, height: 30, channels: 3, background: "#468" } })
      .png()
      .toBuffer(),
  );
}, 60_000);
afterAll(() => close?.());

const runSession = (urls: string[]): Promise<Json> =>
  editToCompletion(
    svc,
    urls.map((url, i) => ({ id: `i${i}`, url })),
    [{ op: "resize", width: 24 }],
  );

async function checkImages(session: Json, labels: string[]) {
  expect(["completed", "partial", "failed"]).toContain(session.status);
  for (const [k, img] of (session.images as Json[]).entries()) {
    const what = `${img.id} (${labels[k]})`;
    if (img.status === "done") {
      const file = await fetch(new URL(img.result.url, svc.base));
      expect(file.status, what).toBe(200);
      const meta = await sharp(Buffer.from(await file.arrayBuffer())).metadata();
      expect([meta.width, meta.height], what).toEqual([img.result.width, img.result.height]);
    } else {
      expect(img.status, what).toBe("failed");
      expect(Object.keys(ERROR_STATUS), what).toContain(img.error?.code);
    }
  }
}

describe(`${MUTANTS} hostile files through the service (seed ${SEED})`, () => {
  it("uploads: accepted, or refused with a typed 4xx", async () => {
    const accepted: { url: string; label: string }[] = [];
    const refused: Record<string, number> = {};
    for (const m of mutants.slice(0, MUTANTS / 2)) {
      const res = await svc.api("/uploads?name=x.bin", {
        method: "POST",
        body: new Uint8Array(m.data),
        headers: { "content-type": "application/octet-stream" },
      });
      const body = (await res.json()) as Json;
      if (res.status === 201) accepted.push({ url: body.url, label: m.label });
      else {
        expect([400, 413, 415, 422], `${m.label}: ${JSON.stringify(body)}`).toContain(res.status);
        expect(Object.keys(ERROR_STATUS)).toContain(body.error.code);
        refused[body.error.code] = (refused[body.error.code] ?? 0) + 1;
      }
    }
    console.log(`uploads: ${accepted.length} accepted, refused ${JSON.stringify(refused)}`);
    if (accepted.length > 0) {
      const session = await runSession(accepted.map((a) => a.url));
      await checkImages(
        session,
        accepted.map((a) => a.label),
      );
    }
  }, 60_000);

  it("by URL: every image ends done with a decodable file or failed with a typed code", async () => {
    const indexes = Array.from({ length: MUTANTS / 2 }, (_, i) => MUTANTS / 2 + i);
    for (let k = 0; k < indexes.length; k += 10) {
      const batch = indexes.slice(k, k + 10);
      const session = await runSession(batch.map((i) => `${src.base}/m${i}`));
      await checkImages(
        session,
        batch.map((i) => mutants[i].label),
      );
    }
  }, 90_000);

  it("the server is still healthy and completes a clean session", async () => {
    const health = await fetch(`${svc.base}/healthz`);
    expect(health.status).toBe(200);
    const session = await runSession([`${src.base}/clean.png`, `${src.base}/clean.png`]);
    expect(session.status).toBe("completed");
  });
});
