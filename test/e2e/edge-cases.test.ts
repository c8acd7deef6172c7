// The editor page where a real user found it lacking: Run pressed again while the service answers,
// formats the browser cannot draw (TIFF), uploads that fail among ones that work, a sign-in that
// expires with work on the page, and leaving the page (Back, closing the tab) with work under way.
import type { Browser, BrowserContext, Locator, Page, Route } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  launchBrowser,
  openPage,
  type RunningService,
  serviceAndBrowser,
  shot,
  signInLocally,
  solid,
  startService,
  writeTemp,
} from "./browser.js";

/** Pictures on the cards that finished loading but could not be drawn (a broken-image icon). */
const brokenImages = (page: Page) =>
  // Page code as a string: this file is type-checked without the DOM library.
  page.evaluate<string[]>(
    `[...document.querySelectorAll('[data-testid="card"] img')].filter((i) => i.complete && i.naturalWidth === 0).map((i) => i.alt)`,
  );

describe("the editor page on rough edges", () => {
  let service: RunningService;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  // Kept until the end: a picked file's preview (an object URL) is read from the file on disk again
  // when the before/after slider draws it.
  let files: { paths: string[]; cleanup(): void };
  const pageErrors: string[] = [];
  const card = (name: string): Locator => page.getByTestId("card").filter({ hasText: name });

  beforeAll(async () => {
    files = writeTemp({
      "fine.png": await solid(120, 90, "#22c55e").png().toBuffer(),
      "broken.jpg": Buffer.from("not a picture, only text with a .jpg name"),
      "scan.tif": await solid(200, 150, "#64748b").tiff().toBuffer(),
    });
    service = await startService();
    browser = await launchBrowser();
    ({ context, page } = await openPage(browser, { viewport: { width: 1280, height: 900 } }, pageErrors));
    await signInLocally(page, service.url);
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await service?.close();
    files?.cleanup();
  });

  const file = (name: string) => files.paths.find((p) => p.endsWith(`/${name}`))!;

  it("says how many uploads failed, not just that they finished", async () => {
    await page.getByTestId("file-input").setInputFiles([file("fine.png"), file("broken.jpg")]);
    await card("broken.jpg").and(page.locator('[data-status="upload-failed"]')).waitFor();
    await card("fine.png").and(page.locator('[data-status="ready"]')).waitFor();
    await card("broken.jpg")
      .getByRole("button", { name: /^Remove/ })
      .click();
    await expect
      .poll(() => page.getByTestId("announcer").textContent())
      .toBe("Uploads finished: 1 of 2 uploaded, 1 failed");
  });

  it("starts one edit however often Run is pressed before the service answers", async () => {
    // The start request is held for a second, as on a slow link; the page must not start another.
    const starts: string[] = [];
    await page.route(
      (url) => url.pathname === "/image-edit",
      async (route) => {
        starts.push(route.request().method());
        await new Promise((r) => setTimeout(r, 1000));
        await route.continue();
      },
    );
    try {
      const box = page.getByTestId("command");
      await box.fill("convert to webp");
      await page.locator('[data-testid="plan"][data-status="ok"]').waitFor();
      await box.press("Enter");
      await box.press("Enter");
      // force: the toolbar says it is unavailable (aria-disabled); press it anyway, as a user can.
      await page.getByRole("button", { name: "Greyscale", exact: true }).click({ force: true });
      await card("fine.png").and(page.locator('[data-status="done"]')).waitFor();
      expect(starts).toEqual(["POST"]);
      // The result is the command's, not a later click's.
      await expect(card("fine.png").getByTestId("result-facts").getAttribute("data-format")).resolves.toBe("webp");
    } finally {
      await page.unroute((url) => url.pathname === "/image-edit");
    }
  });

  it("shows what the browser can draw of TIFF originals and results, and says when it cannot", async () => {
    await page.getByRole("button", { name: "Select none" }).click();
    await page.getByTestId("file-input").setInputFiles(file("scan.tif"));
    await card("scan.tif").and(page.locator('[data-status="ready"]')).waitFor();
    await expect(page.getByTestId("selection-count").textContent()).resolves.toBe("1 of 2 selected");
    const box = page.getByTestId("command");

    // A TIFF original (no preview in a browser) edited to WebP: the result alone, no broken original.
    await box.fill("convert to webp");
    await page.locator('[data-testid="plan"][data-status="ok"]').waitFor();
    await box.press("Enter");
    await card("scan.tif").and(page.locator('[data-status="done"]')).waitFor();
    await expect.poll(() => brokenImages(page)).toEqual([]);
    await expect(card("scan.tif").getByRole("img", { name: "scan.tif, edited" }).count()).resolves.toBe(1);

    // A TIFF result: the card says there is no preview, and keeps its facts and Download.
    await page.getByRole("button", { name: "Select all" }).click();
    await box.fill("convert to tiff");
    await page.locator('[data-testid="plan"][data-status="ok"]').waitFor();
    await box.press("Enter");
    // Both cards already show a result: wait for the TIFF ones.
    await page.locator('[data-testid="result-facts"][data-format="tiff"]').nth(1).waitFor();
    await expect.poll(() => brokenImages(page)).toEqual([]);
    for (const name of ["scan.tif", "fine.png"]) {
      await card(name).getByTestId("no-preview").waitFor();
      await expect(card(name).getByTestId("result-facts").getAttribute("data-format")).resolves.toBe("tiff");
      await expect(
        card(name)
          .getByRole("button", { name: /^Download/ })
          .isEnabled(),
      ).resolves.toBe(true);
    }
    await box.blur();
    await shot(page, "edge-01-tiff-no-preview");
    expect(pageErrors).toEqual([]);
  });
});

describe("a sign-in that expires with work on the page", () => {
  const run = serviceAndBrowser({ LOCAL_SIGN_IN: "false" });

  it("asks to sign in again over the page and keeps its images, results and command", async () => {
    const { context, page } = await openPage(run.browser, { viewport: { width: 1100, height: 800 } });
    const files = writeTemp({ "wide.png": await solid(160, 90, "#f97316").png().toBuffer() });
    try {
      // A real token that lives 15 s: long enough to upload and edit one small image.
      const ttlSec = 15;
      const expiresAt = Date.now() + ttlSec * 1000;
      await page.goto(run.service.url);
      await page.getByLabel("Access token").fill(await run.service.token("carol", ttlSec));
      await page.getByRole("button", { name: "Sign in with token" }).click();
      await page.getByRole("heading", { name: "Images", exact: true }).waitFor();

      await page.getByTestId("file-input").setInputFiles(files.paths);
      const wide = page.getByTestId("card").filter({ hasText: "wide.png" });
      await wide.and(page.locator('[data-status="ready"]')).waitFor();
      const box = page.getByTestId("command");
      await box.fill("rotate 90");
      await page.locator('[data-testid="plan"][data-status="ok"]').waitFor();
      await box.press("Enter");
      await wide.and(page.locator('[data-status="done"]')).waitFor();
      expect(Date.now(), "the work took longer than the token lives").toBeLessThan(expiresAt);

      // Past the token's expiry, typing asks for a plan: the service answers 401.
      await page.waitForTimeout(Math.max(0, expiresAt - Date.now()) + 1500);
      await box.fill("greyscale");
      const dialog = page.getByRole("dialog", { name: "Your sign-in has expired" });
      await dialog.waitFor();
      // Focus is in the dialog, and the page behind it is out of reach.
      await expect(page.evaluate<string>("document.activeElement.tagName")).resolves.toBe("TEXTAREA");
      await expect(page.evaluate<boolean>('document.querySelector(".app").inert')).resolves.toBe(true);
      await shot(page, "edge-02-expired");

      await dialog.getByLabel("Access token").fill(await run.service.token("carol"));
      await dialog.getByRole("button", { name: "Sign in with token" }).click();
      await dialog.waitFor({ state: "detached" });
      // Everything is as it was, and the plan refused with the old token is asked for again.
      await expect(wide.getByTestId("result-facts").textContent()).resolves.toMatch(/90×160 · PNG/);
      await expect(box.inputValue()).resolves.toBe("greyscale");
      await page
        .locator('[data-testid="plan"][data-status="ok"]')
        .getByText(/greyscale/i)
        .waitFor();
      // The new token is the one in use: the next edit runs.
      await box.press("Enter");
      await page
        .getByTestId("run-steps")
        .filter({ hasText: /greyscale/i })
        .waitFor();
      await wide.and(page.locator('[data-status="done"]')).waitFor();
    } finally {
      files.cleanup();
      await context.close();
    }
  });
});

describe("leaving the page with work under way", () => {
  const run = serviceAndBrowser();

  it("warns before unload while uploads run or an edit starts or runs, and not when idle or done", async () => {
    const files = writeTemp({
      "wide.png": await solid(160, 90, "#f97316").png().toBuffer(),
      "broken.jpg": Buffer.from("not a picture"),
    });
    const dialogs: string[] = [];
    const watch = (p: Page) =>
      p.on("dialog", (d) => {
        dialogs.push(d.type());
        void d.dismiss(); // stay on the page
      });
    /** Tries to close the tab: "beforeunload" when the page warned (and stayed), "closed" when it closed. */
    const leave = async (p: Page): Promise<string> => {
      const outcome = new Promise<string>((resolve) => {
        p.once("dialog", (d) => resolve(d.type()));
        p.once("close", () => resolve("closed"));
      });
      await p.close({ runBeforeUnload: true });
      return outcome;
    };
    const { context, page } = await openPage(run.browser, { viewport: { width: 1100, height: 800 } });
    try {
      // Idle: nothing under way (an upload that failed is not), nothing to lose.
      const idle = await context.newPage();
      watch(idle);
      await signInLocally(idle, run.service.url);
      await idle.getByTestId("file-input").setInputFiles(files.paths.filter((f) => f.endsWith("broken.jpg")));
      await idle.locator('[data-testid="card"][data-status="upload-failed"]').waitFor();
      await expect(leave(idle)).resolves.toBe("closed");
      expect(dialogs).toEqual([]);

      watch(page);
      await signInLocally(page, run.service.url);
      const held: Route[] = [];
      const hold = (route: Route) => {
        held.push(route);
      };
      const wide = page.getByTestId("card").filter({ hasText: "wide.png" });

      // An upload under way.
      await page.route((url) => url.pathname === "/uploads", hold);
      await page.getByTestId("file-input").setInputFiles(files.paths.filter((f) => f.endsWith("wide.png")));
      await wide.and(page.locator('[data-status="uploading"]')).waitFor();
      await expect.poll(() => held.length).toBe(1);
      await expect(leave(page)).resolves.toBe("beforeunload");
      await page.unroute((url) => url.pathname === "/uploads", hold);
      await held.pop()!.continue();
      await wide.and(page.locator('[data-status="ready"]')).waitFor();

      // An edit being started, then running (its start and progress held back).
      const box = page.getByTestId("command");
      await page.route((url) => url.pathname === "/image-edit", hold);
      await box.fill("rotate 90");
      await box.press("Enter");
      await page.getByRole("button", { name: "Starting…" }).waitFor();
      await expect(leave(page)).resolves.toBe("beforeunload");
      const isProgress = (url: URL) => url.pathname.startsWith("/image-edit/progress/");
      await page.route(isProgress, hold);
      await page.unroute((url) => url.pathname === "/image-edit", hold);
      await held.pop()!.continue();
      await page.getByRole("button", { name: "Running…" }).waitFor();
      await expect(leave(page)).resolves.toBe("beforeunload");
      await page.unroute(isProgress, hold);
      for (const route of held.splice(0)) await route.continue();
      await wide.and(page.locator('[data-status="done"]')).waitFor();

      // Done, results on screen: closing asks nothing.
      await expect(leave(page)).resolves.toBe("closed");
      expect(dialogs).toEqual(["beforeunload", "beforeunload", "beforeunload"]);
    } finally {
      files.cleanup();
      await context.close();
    }
  });
});
