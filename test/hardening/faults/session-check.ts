// Shared by the fault-injection tests: a loopback image source that misbehaves by path, and the
// invariants every finished session must satisfy whatever was broken on the way.
import http from "node:http";
import type net from "node:net";
import sharp from "sharp";
import { expect } from "vitest";
import { ERROR_STATUS } from "../../../src/core/errors.js";
import { sessionStatusOf } from "../../../src/service/status.js";
import type { Json } from "../../http/harness.js";
import type { FaultyService } from "./service.js";

export interface FaultSource {
  base: string;
  hits: Map<string, number>;
  close(): Promise<void>;
}

/**
 * Paths by prefix: /ok* serves the PNG, /flaky* answers 503 twice first, /reset-once* drops the
 * first connection, /reset* drops every one, /hang* never answers, /trickle* sends a byte a second,
 * /slow* answers after 600 ms.
 */
export async function startSource(png: Buffer): Promise<FaultSource> {
  const hits = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const p = new URL(req.url ?? "/", "http://x").pathname;
    const n = (hits.get(p) ?? 0) + 1;
    hits.set(p, n);
    const send = () => res.writeHead(200, { "content-type": "image/png", "content-length": png.length }).end(png);
    if (p.startsWith("/ok")) return send();
    if (p.startsWith("/flaky")) return n <= 2 ? res.writeHead(503).end("busy") : send();
    if (p.startsWith("/reset-once")) return n === 1 ? req.socket.destroy() : send();
    if (p.startsWith("/reset")) return req.socket.destroy();
    if (p.startsWith("/hang")) return; // never answers
    if (p.startsWith("/slow")) {
      setTimeout(send, 600);
      return;
    }
    if (p.startsWith("/trickle")) {
      res.writeHead(200, { "content-type": "image/png", "content-length": png.length });
      let i = 0;
      const t = setInterval(() => {
        if (res.destroyed || i >= png.length) return clearInterval(t);
        res.write(png.subarray(i, i + 1));
        i++;
      }, 1000);
      res.on("close", () => clearInterval(t));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    base: `http://127.0.0.1:${port}`,
    hits,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/**
 * A finished session is true: terminal and consistent; every done image has its file, downloadable
 * and of the size reported; no file without a done image; failures carry a typed code and a
 * message; the progress stream's summary matches, and each result and failure was announced.
 */
export async function checkSession(
  svc: Pick<FaultyService, "base" | "sessions" | "objects">,
  session: Json,
  complete: Json,
  events: { event: string; data: Json }[],
): Promise<void> {
  const images = session.images as Json[];
  // A true, terminal state, consistent with the images.
  expect(["completed", "partial", "failed"]).toContain(session.status);
  expect(session.status).toBe(sessionStatusOf(images));
  // The store's own record (the API view hides keys and the user id).
  const stored = await svc.sessions.get(session.sessionId);
  if (!stored) throw new Error(`session ${session.sessionId} is not in the store`);
  const keys: string[] = [];
  for (const img of images) {
    expect(["done", "failed"], `image ${img.id}`).toContain(img.status);
    if (img.status === "done") {
      // Done means the file is there, downloadable, and what the session says it is.
      const key = stored.images.find((i) => i.id === img.id)?.result?.key as string;
      expect(key).toBe(`${stored.userId}/${session.sessionId}/${img.id}.png`);
      keys.push(key);
      expect(await svc.objects.exists(key), `file for done image ${img.id}`).toBe(true);
      const got = await fetch(new URL(img.result.url, svc.base));
      expect(got.status).toBe(200);
      const meta = await sharp(Buffer.from(await got.arrayBuffer())).metadata();
      expect([meta.width, meta.height]).toEqual([img.result.width, img.result.height]);
      expect([meta.width, meta.height]).toEqual([32, 24]);
    } else {
      expect(Object.keys(ERROR_STATUS), `error code of ${img.id}`).toContain(img.error?.code);
      expect(img.error.message.length).toBeGreaterThan(0);
    }
  }
  // No file without a done image.
  expect((await svc.objects.list(`${stored.userId}/${session.sessionId}/`)).sort()).toEqual(keys.sort());
  // The stream told the client: the summary matches, each result and each failure was announced.
  expect(complete).toMatchObject({ sessionId: session.sessionId, status: session.status });
  expect(Object.fromEntries((complete.images as Json[]).map((i) => [i.id, i.status]))).toEqual(
    Object.fromEntries(images.map((i) => [i.id, i.status])),
  );
  for (const img of images) {
    if (img.status === "done")
      expect(
        events.some((e) => e.event === "image" && e.data.imageId === img.id),
        `image event ${img.id}`,
      ).toBe(true);
    else
      expect(
        events.some(
          (e) =>
            e.event === "progress" && e.data.imageId === img.id && e.data.status === "failed" && e.data.error?.code,
        ),
        `failed progress event ${img.id}`,
      ).toBe(true);
  }
}
