// The editor page over time, where things go wrong after the edit started: commands the service
// refused, result links that expired, a running edit brought back by Undo after another session was
// opened, a progress stream answered 502 for a while (a redeploy behind a proxy), an image pasted
// while a checkbox has focus, and the lookup of an edit brought back by Undo failing.
import { readFileSync } from "node:fs";
import { unzipSync } from "fflate";
import type { Browser, BrowserContext, Locator, Page, Route } from "playwright-core";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  launchBrowser,
  openPage,
  type RunningService,
  serviceAndBrowser,
  signInLocally,
  solid,
  startService,
  writeTemp,
} from "./browser.js";

describe("the editor page when things go wrong over time", () => {
  let service: RunningService;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let files: { paths: string[]; cleanup(): void };
  const pageErrors: string[] = [];
  const cards = (status: string): Locator => page.locator(`[data-testid="card"][data-status="${status}"]`);
  const runButton = () => page.getByRole("button", { name: /^Run on/ });

  beforeAll(async () => {
    files = writeTemp({
      "green.png": await solid(160, 120, "#22c55e").png().toBuffer(),
      "blue.png": await solid(120, 90, "#3b82f6").png().toBuffer(),
    });
    service = await startService();
    browser = await launchBrowser();
    ({ context, page } = await openPage(
      browser,
      { viewport: { width: 1280, height: 900 }, acceptDownloads: true },
      pageErrors,
    ));
    await signInLocally(page, service.url);
    await page.getByTestId("file-input").setInputFiles(files.paths);
    await cards("ready").nth(1).waitFor();
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await service?.close();
    files?.cleanup();
  });

  it("keeps only the commands the service took in the ↑/↓ history, under the signed-in user", async () => {
    const box = page.getByTestId("command");
    await box.fill("frobnicate the pixels");
    await box.press("Enter");
    await page.getByRole("alert").waitFor();
    await page.getByRole("button", { name: "Dismiss" }).click();

    await box.fill("convert to webp");
    await box.press("Enter");
    await cards("done").nth(1).waitFor();
    await box.fill("");
    await box.press("ArrowUp");
    await expect(box.inputValue()).resolves.toBe("convert to webp");
    await box.press("ArrowUp");
    await expect(box.inputValue()).resolves.toBe("convert to webp");

    // Page code as a string: this file is type-checked without the DOM library.
    const stored = await page.evaluate<Record<string, string | null>>(
      `Object.fromEntries(Object.keys(localStorage).filter((k) => k.startsWith("imgedit.commands")).map((k) => [k, localStorage.getItem(k)]))`,
    );
    const user = await page.evaluate<string>(`JSON.parse(sessionStorage.getItem("imgedit.user")).id`);
    expect(stored).toEqual({ [`imgedit.commands:${user}`]: JSON.stringify(["convert to webp"]) });
    await box.fill("");
  });

  it("signs result links afresh when they have expired: download, zip and keep editing", async () => {
    // Every link signed until now answers as the service does an hour later (403); the session
    // route signs new ones, which a second later carry a later expiry.
    const expiredUpTo = Math.floor(Date.now() / 1000) + 3600;
    const refused: string[] = [];
    const expire = async (route: Route) => {
      const exp = Number(new URL(route.request().url()).searchParams.get("exp"));
      if (exp > expiredUpTo) return route.continue();
      refused.push(route.request().url());
      await route.fulfill({
        status: 403,
        contentType: "application/json",
        body: JSON.stringify({
          error: { code: "FORBIDDEN", message: "this download link is not valid or has expired" },
        }),
      });
    };
    await new Promise((r) => setTimeout(r, 1100));
    await page.route((url) => url.pathname.startsWith("/files/"), expire);
    try {
      const [one] = await Promise.all([
        page.waitForEvent("download", { timeout: 15_000 }),
        page
          .getByTestId("card")
          .filter({ hasText: "green.png" })
          .getByRole("button", { name: /^Download/ })
          .click(),
      ]);
      expect(one.suggestedFilename()).toBe("green.webp");
      expect((await sharp(readFileSync((await one.path())!)).metadata()).format).toBe("webp");

      const [zip] = await Promise.all([
        page.waitForEvent("download", { timeout: 15_000 }),
        page.getByRole("button", { name: "Download all (.zip)" }).click(),
      ]);
      const entries = unzipSync(new Uint8Array(readFileSync((await zip.path())!)));
      expect(Object.keys(entries).sort()).toEqual(["blue.webp", "green.webp"]);

      await page.getByRole("button", { name: "Keep editing" }).click();
      await cards("ready").nth(1).waitFor({ timeout: 15_000 });
      await expect(cards("upload-failed").count()).resolves.toBe(0);
      expect(refused.length).toBeGreaterThan(0);
      await expect(page.getByRole("alert").count()).resolves.toBe(0);
    } finally {
      await page.unroute((url) => url.pathname.startsWith("/files/"), expire);
    }
  });

  it("follows a running edit again when Undo brings it back after another session was opened", async () => {
    // The progress stream is held back: the page shows the edit running while the service runs it.
    const held: Route[] = [];
    const hold = (route: Route) => {
      held.push(route);
    };
    const isProgress = (url: URL) => url.pathname.startsWith("/image-edit/progress/");
    await page.route(isProgress, hold);
    const box = page.getByTestId("command");
    await box.fill("rotate 90");
    await box.press("Enter");
    await page.getByRole("button", { name: "Running…" }).waitFor();

    await page
      .getByTestId("history")
      .getByRole("button", { name: /convert to webp/ })
      .click();
    await cards("done").nth(1).waitFor();
    await page.unroute(isProgress, hold);
    for (const route of held) await route.abort().catch(() => undefined);

    await page.getByRole("button", { name: /Undo/ }).click();
    // The rotated results (120×90 turned 90×120), not "Processing…" forever.
    await cards("done").nth(1).waitFor({ timeout: 20_000 });
    await expect(
      page.getByTestId("card").filter({ hasText: "blue.webp" }).getByTestId("result-facts").textContent(),
    ).resolves.toMatch(/90×120/);
    await runButton().waitFor();
    await expect(page.getByRole("button", { name: /Undo/ }).isEnabled()).resolves.toBe(true);
  });

  it("keeps retrying a progress stream answered 502, says so, and shows the edit once it is back", async () => {
    let down = true;
    const badGateway = (route: Route) =>
      down ? route.fulfill({ status: 502, contentType: "text/plain", body: "Bad Gateway" }) : route.continue();
    const behindProxy = (url: URL) => /^\/image-edit\/(progress|sessions)\//.test(url.pathname);
    await page.route(behindProxy, badGateway);
    try {
      const box = page.getByTestId("command");
      await box.fill("flip horizontally");
      await box.press("Enter");
      const notice = page.getByRole("status").filter({ hasText: "Connection lost, retrying…" });
      await notice.waitFor();
      // Longer than the page used to keep trying (about 8 s).
      await new Promise((r) => setTimeout(r, 10_000));
      await expect(notice.isVisible()).resolves.toBe(true);
      down = false;
      await runButton().waitFor({ timeout: 45_000 });
      await expect(cards("done").count()).resolves.toBe(2);
      await expect(notice.count()).resolves.toBe(0);
    } finally {
      await page.unroute(behindProxy, badGateway);
    }
  });

  it("adds a pasted image while a card's checkbox has focus", async () => {
    const before = await page.getByTestId("card").count();
    await page.getByTestId("card").first().getByRole("checkbox").focus();
    await page.evaluate(`(() => {
      const png = Uint8Array.from(atob("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="), (c) => c.charCodeAt(0));
      const data = new DataTransfer();
      data.items.add(new File([png], "image.png", { type: "image/png" }));
      document.activeElement.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
    })()`);
    await expect.poll(() => page.getByTestId("card").count()).toBe(before + 1);
    await page.getByTestId("card").filter({ hasText: "pasted-" }).waitFor();
    expect(pageErrors).toEqual([]);
  });
});

describe("an edit brought back by Undo while its lookup fails", () => {
  const run = serviceAndBrowser();
  let context: BrowserContext;
  let page: Page;
  let files: { paths: string[]; cleanup(): void };
  /** Session ids looked up (GET /image-edit/sessions/:id), in order. */
  const asked: string[] = [];
  /** What a proxy answers for a session's lookup instead of the service. */
  const refuse = new Map<string, number>();
  /** Sessions whose lookups a proxy never answers (held here). */
  const silent = new Set<string>();
  const unanswered: Route[] = [];
  const askedFor = (id: string) => asked.filter((a) => a === id).length;
  const cards = (status: string): Locator => page.locator(`[data-testid="card"][data-status="${status}"]`);
  const runButton = () => page.getByRole("button", { name: /^Run on/ });
  const notice = () => page.getByRole("status").filter({ hasText: "Connection lost, retrying…" });
  const isProgress = (url: URL) => url.pathname.startsWith("/image-edit/progress/");

  beforeAll(async () => {
    files = writeTemp({
      "green.png": await solid(160, 120, "#22c55e").png().toBuffer(),
      "blue.png": await solid(120, 90, "#3b82f6").png().toBuffer(),
    });
    ({ context, page } = await openPage(run.browser, { viewport: { width: 1280, height: 900 } }));
    await page.route(
      (url) => /^\/image-edit\/sessions\/[^/]+$/.test(url.pathname),
      (route) => {
        const id = decodeURIComponent(new URL(route.request().url()).pathname.split("/").pop()!);
        asked.push(id);
        if (silent.has(id)) {
          unanswered.push(route);
          return;
        }
        const status = refuse.get(id);
        if (!status) return route.continue();
        return status === 502
          ? route.fulfill({ status, contentType: "text/plain", body: "Bad Gateway" })
          : route.fulfill({
              status,
              contentType: "application/json",
              body: JSON.stringify({ error: { code: `HTTP_${status}`, message: `refused (${status})` } }),
            });
      },
    );
    await signInLocally(page, run.service.url);
    await page.getByTestId("file-input").setInputFiles(files.paths);
    await cards("ready").nth(1).waitFor();
    // The session opened over the running ones below.
    await page.getByTestId("command").fill("convert to webp");
    await page.getByTestId("command").press("Enter");
    await cards("done").nth(1).waitFor();
  });

  afterAll(async () => {
    for (const route of unanswered) await route.abort().catch(() => undefined);
    await context?.close();
    files?.cleanup();
  });

  /** Starts `command` with its progress held back, opens another session over it: Undo brings it back. */
  async function runningBehindUndo(command: string): Promise<string> {
    const held: Route[] = [];
    const hold = (route: Route) => {
      held.push(route);
    };
    await page.route(isProgress, hold);
    await page.getByTestId("command").fill(command);
    await page.getByTestId("command").press("Enter");
    await page.getByRole("button", { name: "Running…" }).waitFor();
    await expect.poll(() => held.length).toBeGreaterThan(0);
    const id = decodeURIComponent(new URL(held[0].request().url()).pathname.split("/").pop()!);
    await page
      .getByTestId("history")
      .getByRole("button", { name: /convert to webp/ })
      .click();
    await runButton().waitFor();
    await page.unroute(isProgress, hold);
    for (const route of held) await route.abort().catch(() => undefined);
    return id;
  }

  it("retries a lookup answered 502 with backoff, stops when Redo leaves it, and shows the edit once it is back", async () => {
    const id = await runningBehindUndo("rotate 90");
    refuse.set(id, 502);
    await page.getByRole("button", { name: /Undo/ }).click();
    await notice().waitFor({ timeout: 10_000 });
    await expect.poll(() => askedFor(id), { timeout: 15_000 }).toBeGreaterThanOrEqual(3);
    await expect(page.getByRole("alert").count()).resolves.toBe(0);

    // Moving on (Redo, which the page allows while the lookup fails) stops the retries.
    await page.getByRole("button", { name: /Redo/ }).click();
    await cards("done").nth(1).waitFor();
    const after = askedFor(id);
    await page.waitForTimeout(3000);
    expect(askedFor(id)).toBe(after);
    await expect(notice().count()).resolves.toBe(0);

    // Back again: asked afresh, and once the service answers the rotated results (90×120) show.
    await page.getByRole("button", { name: /Undo/ }).click();
    await expect.poll(() => askedFor(id)).toBeGreaterThanOrEqual(after + 2);
    refuse.delete(id);
    await runButton().waitFor({ timeout: 20_000 });
    await expect(cards("done").count()).resolves.toBe(2);
    await expect(
      page.getByTestId("card").filter({ hasText: "blue.png" }).getByTestId("result-facts").textContent(),
    ).resolves.toMatch(/90×120/);
    await expect(notice().count()).resolves.toBe(0);
    await expect(page.getByRole("alert").count()).resolves.toBe(0);
  });

  it.each([
    [404, "flip horizontally", /no longer in the service/],
    [403, "greyscale", /refused to show this edit/],
  ])(
    "takes a lookup answered %i as final, with a clear message, and leaves the page usable",
    async (status, command, message) => {
      const id = await runningBehindUndo(command);
      refuse.set(id, status);
      await page.getByRole("button", { name: /Undo/ }).click();
      await page.getByRole("alert").filter({ hasText: message }).waitFor({ timeout: 10_000 });
      await page.waitForTimeout(2000);
      expect(askedFor(id)).toBe(1);
      await expect(notice().count()).resolves.toBe(0);
      // Not stuck "running": Run and Redo work again.
      await runButton().waitFor();
      await expect(page.getByRole("button", { name: /Redo/ }).isEnabled()).resolves.toBe(true);
      await page.getByRole("button", { name: "Dismiss" }).click();
    },
  );

  it("after a 401, asks again once signed in and then shows the edit", async () => {
    const id = await runningBehindUndo("rotate 180");
    refuse.set(id, 401);
    await page.getByRole("button", { name: /Undo/ }).click();
    const dialog = page.getByRole("dialog", { name: "Your sign-in has expired" });
    await dialog.waitFor();
    await page
      .getByRole("alert")
      .filter({ hasText: /sign in again to follow this edit/ })
      .waitFor({ timeout: 10_000 });
    await page.waitForTimeout(1500);
    expect(askedFor(id)).toBe(1);
    refuse.delete(id);
    await dialog.getByRole("button", { name: "Sign in locally" }).click();
    await dialog.waitFor({ state: "detached" });
    await runButton().waitFor({ timeout: 20_000 });
    expect(askedFor(id)).toBe(2);
    await expect(cards("done").count()).resolves.toBe(2);
    await expect(page.getByRole("alert").count()).resolves.toBe(0);
  });

  it("gives up on a lookup that never answers after 10 s, retries it, and shows the edit once answered", async () => {
    const id = await runningBehindUndo("flip vertically");
    silent.add(id);
    await page.getByRole("button", { name: /Undo/ }).click();
    // Held, the request neither fails nor answers: only the page's timeout ends it.
    await notice().waitFor({ timeout: 20_000 });
    expect(unanswered.length).toBeGreaterThanOrEqual(1);
    await expect(page.getByRole("button", { name: /Redo/ }).isEnabled()).resolves.toBe(true);
    silent.delete(id);
    await runButton().waitFor({ timeout: 30_000 });
    expect(askedFor(id)).toBeGreaterThanOrEqual(2);
    await expect(cards("done").count()).resolves.toBe(2);
    await expect(notice().count()).resolves.toBe(0);
    await expect(page.getByRole("alert").count()).resolves.toBe(0);
  });

  // Last: signing out empties the editor.
  it("keeps the new sign-in when a request sent with the old token comes back 401 afterwards", async () => {
    const token = () => page.evaluate<string | null>(`sessionStorage.getItem("imgedit.token")`);
    const id = await runningBehindUndo("rotate 270");
    silent.add(id);
    const held = unanswered.length;
    await page.getByRole("button", { name: /Undo/ }).click();
    await expect.poll(() => unanswered.length).toBe(held + 1);
    const old = await token();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForTimeout(1100); // tokens are minted per second: the next one differs
    await page.getByRole("button", { name: "Sign in locally" }).click();
    await page.getByRole("heading", { name: "Images", exact: true }).waitFor();
    const fresh = await token();
    expect(fresh).not.toBe(old);

    // The old lookup answers now, as the service does for a token it no longer takes.
    silent.delete(id);
    const late = page.waitForResponse((r) => r.url().includes(id) && r.status() === 401);
    await unanswered[held].fulfill({
      status: 401,
      contentType: "application/json",
      body: JSON.stringify({ error: { code: "UNAUTHORIZED", message: "token expired" } }),
    });
    await late;
    await page.waitForTimeout(1000);
    await expect(page.getByRole("dialog", { name: "Your sign-in has expired" }).count()).resolves.toBe(0);
    await expect(token()).resolves.toBe(fresh);
  });
});
