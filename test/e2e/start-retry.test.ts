// Starting an edit when POST /image-edit fails on the way: the page sends the same request again
// with the same Idempotency-Key, so a start the service did accept is answered, not made twice.
import type { Locator, Page, Route } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPage, serviceAndBrowser, signInLocally, solid, writeTemp } from "./browser.js";

describe("starting an edit when the request fails on the way", () => {
  const run = serviceAndBrowser();
  let page: Page;
  let close: () => Promise<void>;
  let files: { paths: string[]; cleanup(): void };
  const pageErrors: string[] = [];
  /** The Idempotency-Key of every POST /image-edit, in order, across the tests. */
  const keys: (string | undefined)[] = [];
  const cards = (status: string): Locator => page.locator(`[data-testid="card"][data-status="${status}"]`);
  const runButton = () => page.getByRole("button", { name: /^Run on/ });
  const isStart = (url: URL) => url.pathname === "/image-edit";
  // Page code as a string: this file is type-checked without the DOM library.
  const sessionCount = () =>
    page.evaluate<number>(`fetch("image-edit/sessions?limit=100", {
      headers: { authorization: "Bearer " + sessionStorage.getItem("imgedit.token") },
    }).then((r) => r.json()).then((j) => j.items.length)`);

  /** Runs `command` with POST /image-edit handled by `handle` (its key recorded first). */
  async function runThrough(command: string, handle: (route: Route, attempt: number) => Promise<void>) {
    let attempts = 0;
    const handler = (route: Route) => {
      if (route.request().method() !== "POST") return route.continue();
      keys.push(route.request().headers()["idempotency-key"]);
      return handle(route, ++attempts);
    };
    await page.route(isStart, handler);
    await page.getByTestId("command").fill(command);
    await page.getByTestId("command").press("Enter");
    return {
      attempts: () => attempts,
      done: () => page.unroute(isStart, handler),
    };
  }

  beforeAll(async () => {
    files = writeTemp({ "green.png": await solid(160, 120, "#22c55e").png().toBuffer() });
    const opened = await openPage(run.browser, { viewport: { width: 1280, height: 900 } }, pageErrors);
    page = opened.page;
    close = () => opened.context.close();
    await signInLocally(page, run.service.url);
    await page.getByTestId("file-input").setInputFiles(files.paths);
    await cards("ready").first().waitFor();
  });

  afterAll(async () => {
    await close?.();
    files?.cleanup();
  });

  it("retries a start answered 502 by a proxy with the same key, and the edit runs once", async () => {
    const before = await sessionCount();
    const notice = page.getByRole("status").filter({ hasText: "Connection lost, retrying… Starting the edit." });
    const start = await runThrough("rotate 90", (route, attempt) =>
      attempt <= 2 ? route.fulfill({ status: 502, contentType: "text/plain", body: "Bad Gateway" }) : route.continue(),
    );
    try {
      await notice.waitFor({ timeout: 10_000 });
      await expect.poll(sessionCount, { timeout: 20_000 }).toBe(before + 1);
      await runButton().waitFor({ timeout: 30_000 });
      await expect(
        page.getByTestId("card").filter({ hasText: "green.png" }).getByTestId("result-facts").textContent(),
      ).resolves.toMatch(/120×160/);
      expect(start.attempts()).toBe(3);
      const sent = keys.slice(-3);
      expect(sent[0]).toMatch(/^[0-9a-f-]{32,36}$/);
      expect(new Set(sent).size).toBe(1);
      await expect(notice.count()).resolves.toBe(0);
      await expect(page.getByRole("alert").count()).resolves.toBe(0);
      expect(await sessionCount()).toBe(before + 1);
    } finally {
      await start.done();
    }
  });

  it("gets the session back when the service accepted the start but its answer was lost", async () => {
    const before = await sessionCount();
    const replayed: (string | undefined)[] = [];
    const start = await runThrough("flip horizontally", async (route, attempt) => {
      const res = await route.fetch();
      if (attempt === 1) return route.abort("connectionreset"); // accepted, but the page never hears it
      replayed.push(res.headers()["idempotent-replayed"]);
      return route.fulfill({ response: res });
    });
    try {
      await expect.poll(() => replayed.at(-1), { timeout: 20_000 }).toBe("true");
      await runButton().waitFor({ timeout: 30_000 });
      await expect(cards("done").count()).resolves.toBe(1);
      const sent = keys.slice(-start.attempts());
      expect(start.attempts()).toBeGreaterThanOrEqual(2);
      expect(new Set(sent).size).toBe(1);
      expect(sent[0]).toBeTruthy();
      expect(sent[0]).not.toBe(keys.at(-start.attempts() - 1)); // a new press, a new key
      await expect(page.getByRole("alert").count()).resolves.toBe(0);
      expect(await sessionCount()).toBe(before + 1);
    } finally {
      await start.done();
    }
  });

  it("takes a 422 as final: one attempt, the error shown", async () => {
    const before = await sessionCount();
    const start = await runThrough("greyscale", (route) =>
      route.fulfill({
        status: 422,
        contentType: "application/json",
        body: JSON.stringify({ error: { code: "COMMAND_NOT_UNDERSTOOD", message: "refused on purpose" } }),
      }),
    );
    try {
      await page.getByRole("alert").filter({ hasText: "refused on purpose" }).waitFor({ timeout: 10_000 });
      await page.waitForTimeout(3000); // longer than the first two retries' backoff
      expect(start.attempts()).toBe(1);
      expect(keys.at(-1)).toBeTruthy();
      await runButton().waitFor();
      expect(await sessionCount()).toBe(before);
      expect(pageErrors).toEqual([]);
    } finally {
      await start.done();
    }
  });
});
