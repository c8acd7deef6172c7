// The editor page in a real browser against the real service: sign in, upload, plan, run, watch,
// compare, download, keep editing + undo/redo, reopen from history, a command it cannot read,
// a card that fails while the others finish, and the phone layout.
import { readFileSync } from "node:fs";
import { unzipSync } from "fflate";
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  abstractPng,
  landscapeJpeg,
  launchBrowser,
  openPage,
  type RunningService,
  serviceAndBrowser,
  shot,
  startService,
  writeTemp,
} from "./browser.js";

const COMMAND = "resize to 400px and convert to webp";

describe("the editor page", () => {
  let service: RunningService;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let inputs: { paths: string[]; cleanup(): void };
  const pageErrors: string[] = [];

  const card = (name: string): Locator => page.getByTestId("card").filter({ hasText: name });
  const resultFacts = (name: string) => card(name).getByTestId("result-facts");

  beforeAll(async () => {
    inputs = writeTemp({ "landscape.jpg": await landscapeJpeg(), "shapes.png": await abstractPng() });
    service = await startService();
    browser = await launchBrowser();
    ({ context, page } = await openPage(
      browser,
      { viewport: { width: 1280, height: 900 }, acceptDownloads: true },
      pageErrors,
    ));
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await service?.close();
    inputs?.cleanup();
  });

  it("signs in locally with one click, and the token stays out of the URL", async () => {
    await page.goto(service.url);
    const button = page.getByRole("button", { name: "Sign in locally" });
    await button.waitFor();
    await shot(page, "01-sign-in");
    await button.click();
    await page.getByRole("heading", { name: "Images", exact: true }).waitFor();
    expect(page.url()).not.toMatch(/token/i);
    // Page code as a string: this file is type-checked without the DOM library.
    const stored = await page.evaluate<string | null>('sessionStorage.getItem("imgedit.token")');
    expect(stored).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  });

  it("uploads two images with progress and shows their name, dimensions and size", async () => {
    await page.getByTestId("file-input").setInputFiles(inputs.paths);
    await expect.poll(() => page.getByTestId("card").count()).toBe(2);
    await page.locator('[data-testid="card"][data-status="ready"]').nth(1).waitFor();
    await expect(card("landscape.jpg").getByTestId("source-facts").textContent()).resolves.toMatch(
      /1200×800 · JPEG · \d/,
    );
    await expect(card("shapes.png").getByTestId("source-facts").textContent()).resolves.toMatch(/900×900 · PNG · \d/);
    // New images are selected, ready to edit.
    await expect(page.getByTestId("selection-count").textContent()).resolves.toBe("2 of 2 selected");
    await shot(page, "02-uploaded");
  });

  it("shows each file's upload progress as it goes", async () => {
    // A slow uplink (DevTools network emulation) makes the progress observable; no timing is asserted.
    const cdp = await context.newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Network.emulateNetworkConditions", {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: 256 * 1024,
    });
    const noisy = await sharp({
      create: {
        width: 700,
        height: 500,
        channels: 3,
        background: "#808080",
        noise: { type: "gaussian", mean: 128, sigma: 60 },
      },
    })
      .png()
      .toBuffer();
    const slow = writeTemp({ "noisy.png": noisy });
    try {
      await page.getByTestId("file-input").setInputFiles(slow.paths);
      // The text and the bar show the same number; the text is one read, so no race with the bar.
      const status = card("noisy.png").getByTestId("card-status");
      await expect
        .poll(() => status.textContent(), { timeout: 60_000, interval: 50 })
        .toMatch(/^Uploading… ([1-9]|[1-9]\d)%$/);
      await expect(card("noisy.png").getByRole("progressbar").count()).resolves.toBe(1);
      await card("noisy.png").and(page.locator('[data-status="ready"]')).waitFor();
      await expect(card("noisy.png").getByTestId("source-facts").textContent()).resolves.toMatch(/700×500 · PNG/);
    } finally {
      await cdp.send("Network.emulateNetworkConditions", {
        offline: false,
        latency: 0,
        downloadThroughput: -1,
        uploadThroughput: -1,
      });
      await cdp.detach();
      slow.cleanup();
    }
    await card("noisy.png")
      .getByRole("button", { name: /^Remove/ })
      .click();
    await expect.poll(() => page.getByTestId("card").count()).toBe(2);
  });

  it("selects none, one and all", async () => {
    await page.getByRole("button", { name: "Select none" }).click();
    await expect(page.getByTestId("selection-count").textContent()).resolves.toBe("0 of 2 selected");
    await expect(page.getByRole("button", { name: /^Run on/ }).isDisabled()).resolves.toBe(true);
    await card("shapes.png").locator(".frame").click();
    await expect(page.getByTestId("selection-count").textContent()).resolves.toBe("1 of 2 selected");
    await page.getByRole("button", { name: "Select all" }).click();
    await expect(page.getByTestId("selection-count").textContent()).resolves.toBe("2 of 2 selected");
  });

  it("shows the plan as readable steps while typing", async () => {
    const box = page.getByTestId("command");
    await box.click();
    await box.pressSequentially(COMMAND, { delay: 5 });
    const plan = page.locator('[data-testid="plan"][data-status="ok"]');
    await plan.waitFor();
    const steps = await plan.locator("li").allTextContents();
    expect(steps.length).toBeGreaterThanOrEqual(2);
    expect(steps.join(" | ")).toMatch(/resize/i);
    expect(steps.join(" | ")).toMatch(/webp/i);
    await shot(page, "03-plan");
  });

  it("runs on Enter, shows live progress and both results without shifting the layout", async () => {
    const before = await page.getByTestId("card").first().boundingBox();
    await page.getByTestId("command").press("Enter");
    await page.locator('[data-testid="card"][data-status="done"]').nth(1).waitFor();

    await expect(resultFacts("landscape.jpg").getAttribute("data-width")).resolves.toBe("400");
    await expect(resultFacts("landscape.jpg").getAttribute("data-format")).resolves.toBe("webp");
    await expect(resultFacts("landscape.jpg").textContent()).resolves.toMatch(/400×267 · WEBP/);
    await expect(resultFacts("shapes.png").textContent()).resolves.toMatch(/400×400 · WEBP/);
    // The source facts stay beside the result for comparison.
    await expect(card("landscape.jpg").getByTestId("source-facts").textContent()).resolves.toMatch(/1200×800/);

    const after = await page.getByTestId("card").first().boundingBox();
    expect(after?.height).toBe(before?.height);
    expect(after?.width).toBe(before?.width);
    await expect(page.getByTestId("announcer").textContent()).resolves.toMatch(/2 of 2 done/);
    await page.getByTestId("command").blur();
    await shot(page, "04-results");
  });

  it("compares before and after with a keyboard-operable slider", async () => {
    const slider = card("landscape.jpg").getByRole("slider");
    await slider.focus();
    await slider.press("End");
    await expect(slider.inputValue()).resolves.toBe("100");
    await slider.press("Home");
    await expect(slider.inputValue()).resolves.toBe("0");
    await slider.fill("50");
  });

  it("downloads one result: a 400px WebP file", async () => {
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      card("landscape.jpg")
        .getByRole("button", { name: /^Download/ })
        .click(),
    ]);
    expect(download.suggestedFilename()).toBe("landscape.webp");
    const meta = await sharp(readFileSync((await download.path())!)).metadata();
    expect(meta.format).toBe("webp");
    expect(meta.width).toBe(400);
    expect(meta.height).toBe(267);
  });

  it("downloads all results as a zip", async () => {
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Download all (.zip)" }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/\.zip$/);
    const files = unzipSync(new Uint8Array(readFileSync((await download.path())!)));
    expect(Object.keys(files).sort()).toEqual(["landscape.webp", "shapes.webp"]);
    const square = await sharp(Buffer.from(files["shapes.webp"])).metadata();
    expect([square.format, square.width, square.height]).toEqual(["webp", 400, 400]);
  });

  it("keeps editing from the results, then undoes and redoes that step", async () => {
    await page.getByRole("button", { name: "Keep editing" }).click();
    await page.locator('[data-testid="card"][data-status="ready"]').nth(1).waitFor();
    await expect(card("landscape.webp").getByTestId("source-facts").textContent()).resolves.toMatch(/400×267 · WEBP/);
    await expect(page.getByTestId("result-facts").first().getAttribute("data-width")).resolves.toBeNull();

    // A quick edit on the new inputs, from the keyboard: the toolbar is one Tab stop with arrow keys.
    // It sends structured operations, the same plan as "rotate right".
    await page.getByRole("button", { name: "Rotate left" }).focus();
    await page.keyboard.press("ArrowRight");
    await expect(page.evaluate<string>("document.activeElement.textContent")).resolves.toContain("Rotate right");
    await page.keyboard.press("Enter");
    await page.locator('[data-testid="card"][data-status="done"]').nth(1).waitFor();
    await expect(resultFacts("landscape.webp").textContent()).resolves.toMatch(/267×400/);
    await shot(page, "05-keep-editing");

    await page.locator("body").click({ position: { x: 5, y: 300 } });
    await page.keyboard.press("Control+z");
    await expect(card("landscape.jpg").getByTestId("source-facts").textContent()).resolves.toMatch(/1200×800 · JPEG/);
    await expect(resultFacts("landscape.jpg").textContent()).resolves.toMatch(/400×267 · WEBP/);
    await expect(page.getByTestId("card").filter({ hasText: "landscape.webp" }).count()).resolves.toBe(0);
    await shot(page, "06-undo");

    await page.keyboard.press("Control+Shift+z");
    await expect(resultFacts("landscape.webp").textContent()).resolves.toMatch(/267×400/);
    await page.keyboard.press("Control+z");
    await expect(card("landscape.jpg").count()).resolves.toBe(1);
  });

  it("recalls past commands with the up arrow", async () => {
    const box = page.getByTestId("command");
    await box.fill("");
    await box.press("ArrowUp");
    await expect(box.inputValue()).resolves.toBe("rotate right");
    await box.press("ArrowUp");
    await expect(box.inputValue()).resolves.toBe(COMMAND);
    await box.press("ArrowDown");
    await box.press("ArrowDown");
    await expect(box.inputValue()).resolves.toBe("");
  });

  it("reopens a past session from the history with its results", async () => {
    await page.reload();
    await page.getByText("No images yet.").waitFor();
    const entry = page.getByTestId("history").getByRole("button", { name: new RegExp(COMMAND) });
    await entry.waitFor();
    await entry.click();
    await page.locator('[data-testid="card"][data-status="done"]').nth(1).waitFor();
    await expect(resultFacts("landscape.jpg").textContent()).resolves.toMatch(/400×267 · WEBP/);
    await expect(resultFacts("shapes.png").textContent()).resolves.toMatch(/400×400 · WEBP/);
    await expect(page.getByTestId("command").inputValue()).resolves.toBe(COMMAND);
    // The originals come back too (uploads of this tab), so before/after still works.
    await expect(card("landscape.jpg").getByRole("slider").count()).resolves.toBe(1);
    await shot(page, "07-history");
  });

  it("explains a command it cannot understand, highlighting the unknown word", async () => {
    const box = page.getByTestId("command");
    await box.fill("resize to 400px and frobnicate it");
    const explained = page.getByTestId("not-understood");
    await explained.waitFor();
    await expect(explained.locator("mark.unknown-word").allTextContents()).resolves.toContain("frobnicate");
    await shot(page, "08-not-understood");

    // Its suggestions are one click away and replace the word not understood.
    await box.fill("resize to 400px and pixelate it");
    await explained.locator("mark.unknown-word", { hasText: "pixelate" }).waitFor();
    await explained.getByRole("button", { name: "blur", exact: true }).click();
    await expect(box.inputValue()).resolves.toBe("resize to 400px and blur it");
    await page.locator('[data-testid="plan"][data-status="ok"]').getByText(/Blur/).waitFor();
  });

  it("shows a server error on the failing card while the others finish", async () => {
    await page.getByRole("textbox", { name: "Or add image URLs" }).fill("http://10.0.0.1/private.jpg");
    await page.getByRole("button", { name: "Add", exact: true }).click();
    const bad = card("private.jpg");
    await bad.waitFor();
    await page.getByRole("button", { name: "Select none" }).click();
    await bad.getByRole("checkbox").check();
    await card("shapes.png").getByRole("checkbox").check();
    await page.getByRole("button", { name: "Greyscale" }).click();
    await bad.and(page.locator('[data-status="failed"]')).waitFor();
    await card("shapes.png").and(page.locator('[data-status="done"]')).waitFor();
    await expect(bad.getByTestId("card-status").textContent()).resolves.toMatch(/private|blocked|not allowed/i);
    await shot(page, "09-card-error");
  });

  it("shows why an upload was refused on its card", async () => {
    const broken = writeTemp({ "broken.png": Buffer.from("this is not an image at all, just text") });
    try {
      await page.getByTestId("file-input").setInputFiles(broken.paths);
      const bad = card("broken.png");
      await bad.and(page.locator('[data-status="upload-failed"]')).waitFor();
      await expect(bad.getByTestId("card-status").textContent()).resolves.toMatch(/image|format|recogni/i);
      await bad.getByRole("button", { name: /^Remove/ }).click();
      await expect(bad.count()).resolves.toBe(0);
    } finally {
      broken.cleanup();
    }
  });

  it("says which chosen files are not images instead of dropping them silently", async () => {
    const files = writeTemp({ "report.pdf": Buffer.from("%PDF-1.7 a report"), "notes.txt": Buffer.from("notes") });
    try {
      const before = await page.locator("[data-status]").count();
      await page.getByTestId("file-input").setInputFiles(files.paths);
      await expect(page.getByTestId("file-error").textContent()).resolves.toMatch(
        /report\.pdf, notes\.txt are not images/,
      );
      expect(await page.locator("[data-status]").count()).toBe(before);
    } finally {
      files.cleanup();
    }
  });

  it("adds an image dropped on the drop zone", async () => {
    const png = (
      await sharp({ create: { width: 300, height: 200, channels: 3, background: "#0ea5e9" } })
        .png()
        .toBuffer()
    ).toString("base64");
    // Page code as a string: this file is type-checked without the DOM library.
    const transfer = await page.evaluateHandle(`(() => {
      const bytes = Uint8Array.from(atob("${png}"), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], "dropped.png", { type: "image/png" }));
      return dt;
    })()`);
    await page.getByTestId("dropzone").dispatchEvent("drop", { dataTransfer: transfer });
    await card("dropped.png").and(page.locator('[data-status="ready"]')).waitFor();
    // An image added clears the note about files that were not
    await expect(page.getByTestId("file-error").textContent()).resolves.toBe("");
    await expect(card("dropped.png").getByTestId("source-facts").textContent()).resolves.toMatch(/300×200 · PNG/);
  });

  it("fits a phone screen without sideways scrolling", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth");
    expect(overflow).toBeLessThanOrEqual(0);
    await shot(page, "10-phone");
    // Reduced motion turns transitions off, so the shot shows the dark theme, not a fade into it.
    await page.emulateMedia({ colorScheme: "dark", reducedMotion: "reduce" });
    await shot(page, "11-phone-dark");
    expect(pageErrors).toEqual([]);
  });
});

describe("signing in with a token", () => {
  const run = serviceAndBrowser({ LOCAL_SIGN_IN: "false" });

  it("offers no local sign-in, refuses a bad token and accepts a good one", async () => {
    const { context, page } = await openPage(run.browser, { viewport: { width: 800, height: 800 } });
    await page.goto(run.service.url);
    const field = page.getByLabel("Access token");
    await field.waitFor();
    await expect(page.getByRole("button", { name: "Sign in locally" }).count()).resolves.toBe(0);

    await field.fill("not.a.token");
    await page.getByRole("button", { name: "Sign in with token" }).click();
    await page.getByRole("alert").filter({ hasText: "not accepted" }).waitFor();

    await field.fill(await run.service.token("alice"));
    await page.getByRole("button", { name: "Sign in with token" }).click();
    await page.getByRole("heading", { name: "Images", exact: true }).waitFor();
    await expect(page.locator(".user").textContent()).resolves.toBe("alice");
    expect(page.url()).not.toMatch(/token/i);
    await context.close();
  });
});
