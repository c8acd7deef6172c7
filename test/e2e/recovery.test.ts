// The editor page over time, where things go wrong after the edit started: commands the service
// refused, result links that expired, a running edit brought back by Undo after another session was
// opened, a progress stream answered 502 for a while (a redeploy behind a proxy), and an image
// pasted while a checkbox has focus.
import { readFileSync } from "node:fs";
import { unzipSync } from "fflate";
import type { Browser, BrowserContext, Locator, Page, Route } from "playwright-core";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, openPage, type RunningService, signInLocally, startService, writeTemp } from "./browser.js";

const solid = (width: number, height: number, background: string) =>
  sharp({ create: { width, height, channels: 3, background } });

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
