// The editor page used without a mouse, with a screen reader, on a phone: focus goes somewhere
// sensible after each action, nothing focused hides under the sticky top bar, errors are announced,
// long text wraps instead of pushing the page sideways. And the server's limits: pasted URLs count
// against the images an edit takes, and the hint shows nothing until the real limits arrive.
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  launchBrowser,
  openPage,
  type RunningService,
  shot,
  signInLocally,
  startService,
  writeTemp,
} from "./browser.js";

// Page code as strings: this file is type-checked without the DOM library.
/** The focused element, described for assertions. */
const focused = (page: Page) =>
  page.evaluate<{ tag: string; id: string; name: string; testId: string | null }>(`(() => {
    const e = document.activeElement;
    return {
      tag: e.tagName,
      id: e.id,
      name: (e.getAttribute("aria-label") || e.textContent || "").trim(),
      testId: e.getAttribute("data-testid"),
    };
  })()`);

/** True when the page is wider than its viewport (it scrolls sideways). */
const scrollsSideways = (page: Page) =>
  page.evaluate<boolean>("document.documentElement.scrollWidth > document.documentElement.clientWidth");

const LONG = "x".repeat(160);

describe("the editor page by keyboard and screen reader, on a phone", () => {
  let service: RunningService;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let files: { paths: string[]; cleanup(): void };
  const pageErrors: string[] = [];
  const card = (name: string): Locator => page.getByTestId("card").filter({ hasText: name });
  const file = (name: string) => files.paths.find((p) => p.endsWith(`/${name}`))!;

  /**
   * From the last control of the page (the history list) back to the top bar, one Shift+Tab at a
   * time: each control focused, where it is, and its focus ring.
   */
  async function walkBack() {
    await page.getByTestId("history").getByRole("button").last().focus();
    const seen: { name: string; top: number; bar: number; outline: string; clipped: boolean }[] = [];
    for (let i = 0; i < 40; i++) {
      const at = await page.evaluate<{
        name: string;
        inTopbar: boolean;
        top: number;
        bar: number;
        outline: string;
        clipped: boolean;
      }>(`(() => {
        const e = document.activeElement;
        const r = e.getBoundingClientRect();
        const cs = getComputedStyle(e);
        // The ring reaches this far outside the control; a scrolling or clipping box around it cuts it.
        const ring = Math.max(0, parseFloat(cs.outlineWidth) + parseFloat(cs.outlineOffset));
        let box = e.parentElement;
        while (box && box !== document.body && getComputedStyle(box).overflow === "visible") box = box.parentElement;
        const c = box && box !== document.body ? box.getBoundingClientRect() : null;
        return {
          name: (e.getAttribute("aria-label") || e.labels?.[0]?.textContent || e.textContent || e.tagName).trim(),
          inTopbar: Boolean(e.closest(".topbar")),
          top: r.top,
          bar: document.querySelector(".topbar").getBoundingClientRect().bottom,
          outline: cs.outlineStyle,
          clipped: c !== null && (r.left - ring < c.left - 0.5 || r.right + ring > c.right + 0.5 ||
            r.top - ring < c.top - 0.5 || r.bottom + ring > c.bottom + 0.5),
        };
      })()`);
      if (at.inTopbar) break;
      seen.push(at);
      await page.keyboard.press("Shift+Tab");
    }
    return seen;
  }

  beforeAll(async () => {
    const solid = (w: number, h: number, background: string) =>
      sharp({ create: { width: w, height: h, channels: 3, background } });
    files = writeTemp({
      "red.png": await solid(300, 200, "#dc2626").png().toBuffer(),
      "blue.jpg": await solid(200, 300, "#2563eb").jpeg().toBuffer(),
      "green.png": await solid(120, 120, "#16a34a").png().toBuffer(),
      [`${LONG}.txt`]: Buffer.from("notes, not a picture"),
    });
    service = await startService();
    browser = await launchBrowser();
    ({ context, page } = await openPage(browser, { viewport: { width: 375, height: 700 } }, pageErrors));
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await service?.close();
    files?.cleanup();
  });

  it("signs in from the keyboard and starts at Choose files…", async () => {
    await page.goto(service.url);
    await page.getByRole("button", { name: "Sign in locally" }).waitFor();
    await page.keyboard.press("Tab");
    await expect(focused(page)).resolves.toMatchObject({ tag: "BUTTON", name: "Sign in locally" });
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Images", exact: true }).waitFor();
    // The button pressed is gone: focus goes to the first step, not back to the top of the page.
    await expect.poll(() => focused(page)).toMatchObject({ tag: "BUTTON", name: "Choose files…" });
  });

  it("never leaves a control focused with Shift+Tab under the sticky top bar", async () => {
    await page.getByTestId("file-input").setInputFiles([file("red.png"), file("blue.jpg")]);
    await card("blue.jpg").and(page.locator('[data-status="ready"]')).waitFor();
    await card("red.png").and(page.locator('[data-status="ready"]')).waitFor();
    const box = page.getByTestId("command");
    await box.fill("resize to 100px");
    await page.locator('[data-testid="plan"][data-status="ok"]').waitFor();
    await box.press("Enter");
    await card("red.png").and(page.locator('[data-status="done"]')).waitFor();
    await card("blue.jpg").and(page.locator('[data-status="done"]')).waitFor();

    const walk = await walkBack();
    for (const at of walk) expect(at.top, `${at.name} is under the top bar`).toBeGreaterThanOrEqual(at.bar);
    expect(walk.map((at) => at.name)).toEqual(
      expect.arrayContaining(["Remove blue.jpg", "Select red.png", "Keep editing", "Select all", "Edit command"]),
    );
    await shot(page, "keyboard-01-phone-results");
  });

  it("shows the whole focus ring of every control, including the history list's", async () => {
    const walk = await walkBack();
    expect(walk.some((at) => at.name.startsWith("resize to 100px2 images · done"))).toBe(true);
    for (const at of walk) {
      // The compare slider is transparent: its line shows focus instead.
      if (at.name.startsWith("Compare")) continue;
      expect(at.outline, `${at.name} has no focus ring`).not.toBe("none");
      expect(at.clipped, `${at.name}'s focus ring is cut off by a scrolling box`).toBe(false);
    }
  });

  it("says why Enter did nothing when no image is selected", async () => {
    const why = "No image is selected: tick the images to edit, or press Select all.";
    const status = page.getByRole("status").filter({ hasText: "No image is selected" });
    await page.getByRole("button", { name: "Select none" }).click();
    const box = page.getByTestId("command");
    await box.focus();
    await box.press("Enter");
    await expect(status.textContent()).resolves.toBe(why);
    // Selecting images clears it.
    await page.getByRole("button", { name: "Select all" }).click();
    await expect.poll(() => page.getByTestId("run-blocked").textContent()).toBe("");
    // A quick edit (unavailable: aria-disabled) pressed with nothing selected says the same.
    await page.getByRole("button", { name: "Select none" }).click();
    await page.getByRole("toolbar", { name: "Quick edits" }).getByRole("button").first().focus();
    await page.keyboard.press("Enter");
    await expect(status.textContent()).resolves.toBe(why);
    await page.getByRole("button", { name: "Select all" }).click();
    await expect.poll(() => page.getByTestId("run-blocked").textContent()).toBe("");
  });

  it("keeps focus on a control when the button pressed disables itself", async () => {
    const press = async (name: string | RegExp) => {
      await page.getByRole("button", { name }).focus();
      await page.keyboard.press("Enter");
    };
    // Select none has nothing left to do: its neighbour, Select all, takes focus.
    await press("Select none");
    await expect.poll(() => focused(page)).toMatchObject({ tag: "BUTTON", name: "Select all" });
    await page.keyboard.press("Enter");
    // Run is disabled while the edit starts and runs: focus goes to the command box.
    await press(/^Run on 2 images/);
    await expect.poll(() => focused(page)).toMatchObject({ tag: "TEXTAREA", testId: "command" });
    await card("red.png").and(page.locator('[data-status="done"]')).waitFor();
    await card("blue.jpg").and(page.locator('[data-status="done"]')).waitFor();
    // Keep editing: the results become inputs (none has a result), the command box is next.
    await press("Keep editing");
    await expect.poll(() => focused(page)).toMatchObject({ tag: "TEXTAREA", testId: "command" });
    await card("red.png").and(page.locator('[data-status="ready"]')).waitFor();
    await card("blue.jpg").and(page.locator('[data-status="ready"]')).waitFor();
    // The one undo step, then the one redo step: each hands focus to the other.
    await press(/Undo/);
    await expect.poll(() => focused(page)).toMatchObject({ tag: "BUTTON", name: "↷ Redo" });
    await page.keyboard.press("Enter");
    await expect.poll(() => focused(page)).toMatchObject({ tag: "BUTTON", name: "↶ Undo" });
    await card("red.png").and(page.locator('[data-status="ready"]')).waitFor();
  });

  it("announces a bad URL and wraps long text instead of scrolling sideways", async () => {
    await page.getByRole("button", { name: "Select all" }).click();
    const urlBox = page.getByLabel("Or add image URLs");
    await urlBox.fill(`ftp://example.com/${LONG}`);
    await urlBox.press("Enter");
    // Soft: each of the three is checked even when an earlier one fails.
    expect.soft(await page.getByRole("alert").filter({ hasText: "Not an http(s) URL" }).count()).toBe(1);
    expect.soft(await scrollsSideways(page), "a long bad URL").toBe(false);
    await urlBox.fill("");

    // A file with a long name that is not an image: named under the drop zone.
    await page.getByTestId("file-input").setInputFiles(file(`${LONG}.txt`));
    await expect.poll(() => page.getByTestId("file-error").textContent()).toContain(`${LONG}.txt is not an image`);
    expect.soft(await scrollsSideways(page), "a long file name").toBe(false);

    // The service refuses a run with a long message: the banner wraps it.
    await page.route(
      (url) => url.pathname === "/image-edit",
      (route) =>
        route.fulfill({
          status: 503,
          json: { error: { code: "UNAVAILABLE", message: `The service is busy: try again later (${LONG})` } },
        }),
    );
    try {
      await page.getByTestId("command").press("Enter");
      await page.getByRole("alert").filter({ hasText: "The service is busy" }).waitFor();
      expect.soft(await scrollsSideways(page), "a long error message").toBe(false);
    } finally {
      await page.unrouteAll();
    }
    await shot(page, "keyboard-02-phone-long-text");
    await page.getByRole("button", { name: "Dismiss" }).click();
  });

  it("puts focus back in the command box when an error is dismissed", async () => {
    await page.getByRole("button", { name: "Select all" }).click();
    await page.route(
      (url) => url.pathname === "/image-edit",
      (route) =>
        route.fulfill({ status: 503, json: { error: { code: "UNAVAILABLE", message: "The service is busy" } } }),
    );
    try {
      await page.getByTestId("command").press("Enter");
      await page.getByRole("alert").filter({ hasText: "The service is busy" }).waitFor();
    } finally {
      await page.unrouteAll();
    }
    await page.getByRole("button", { name: "Dismiss" }).focus();
    await page.keyboard.press("Enter");
    await expect(page.getByRole("alert").filter({ hasText: "The service is busy" }).count()).resolves.toBe(0);
    await expect(focused(page)).resolves.toMatchObject({ tag: "TEXTAREA", testId: "command" });
  });

  it("moves focus to the next card when one is removed, and to the list when none is left", async () => {
    await page.getByTestId("file-input").setInputFiles(file("green.png"));
    await card("green.png").and(page.locator('[data-status="ready"]')).waitFor();
    await page.getByRole("button", { name: "Remove red.png" }).focus();
    await page.keyboard.press("Enter");
    await expect.poll(() => focused(page)).toMatchObject({ tag: "BUTTON", name: "Remove blue.jpg" });
    // The last card: focus goes to the one before it.
    await page.getByRole("button", { name: "Remove green.png" }).focus();
    await page.keyboard.press("Enter");
    await expect.poll(() => focused(page)).toMatchObject({ tag: "BUTTON", name: "Remove blue.jpg" });
    await page.keyboard.press("Enter");
    await expect.poll(() => focused(page)).toMatchObject({ tag: "H2", id: "results-title" });
    await expect(page.getByTestId("card").count()).resolves.toBe(0);
  });

  it("gives focus back where it was after signing in again over the page", async () => {
    // The service refuses the token once (as when it expires): sign-in opens as a dialog.
    let refused = false;
    await page.route(
      (url) => url.pathname === "/image-edit/parse",
      async (route) => {
        if (refused) return route.continue();
        refused = true;
        await route.fulfill({ status: 401, json: { error: { code: "UNAUTHORIZED", message: "token expired" } } });
      },
    );
    try {
      const box = page.getByTestId("command");
      await box.focus();
      await page.keyboard.type(" and greyscale");
      const dialog = page.getByRole("dialog", { name: "Your sign-in has expired" });
      await dialog.waitFor();
      await expect.poll(() => focused(page)).toMatchObject({ tag: "BUTTON", name: "Sign in locally" });
      await page.keyboard.press("Enter");
      await dialog.waitFor({ state: "detached" });
      await expect.poll(() => focused(page)).toMatchObject({ tag: "TEXTAREA", testId: "command" });
    } finally {
      await page.unrouteAll();
    }
  });

  it("starts the sign-in page at its button after signing out", async () => {
    await page.getByRole("button", { name: "Sign out" }).focus();
    await page.keyboard.press("Enter");
    await expect.poll(() => focused(page)).toMatchObject({ tag: "BUTTON", name: "Sign in locally" });
    expect(pageErrors).toEqual([]);
  });
});

describe("the editor page and the server's image limit, for URLs too", () => {
  const MAX_IMAGES = 3;
  let service: RunningService;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  /** While set, GET /auth/config waits for it (a slow answer). */
  let hold: Promise<void> | undefined;
  /** Images in each POST /image-edit the page sent, and the service's status. */
  const starts: { images: number; status: number }[] = [];
  const hint = () => page.getByTestId("limits-hint").textContent();

  beforeAll(async () => {
    service = await startService({ MAX_IMAGE_SIZE: "1572864", MAX_IMAGES_PER_REQUEST: String(MAX_IMAGES) });
    browser = await launchBrowser();
    ({ context, page } = await openPage(browser, { viewport: { width: 1280, height: 900 } }));
    await page.route(
      (url) => url.pathname === "/auth/config",
      async (route) => {
        await hold;
        await route.continue();
      },
    );
    page.on("response", async (r) => {
      if (r.request().method() !== "POST" || new URL(r.url()).pathname !== "/image-edit") return;
      const body = r.request().postDataJSON() as { images: unknown[] };
      starts.push({ images: body.images.length, status: r.status() });
    });
    await signInLocally(page, service.url);
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await service?.close();
  });

  it("shows no limits in the hint until the server's arrive, then the real ones", async () => {
    let release = () => {};
    hold = new Promise<void>((r) => {
      release = r;
    });
    try {
      await page.reload();
      await page.getByRole("heading", { name: "Images", exact: true }).waitFor();
      // Not a guess (the default 25 MB and no count) that changes a moment later.
      await expect(hint()).resolves.toBe("\u00a0");
    } finally {
      release();
      hold = undefined;
    }
    await expect.poll(hint).toBe("JPEG, PNG, WebP, GIF, TIFF, AVIF · up to 1.5 MB each · 3 images per edit");
  });

  it("adds no more pasted URLs than an edit takes, and keeps the others in the box with the reason", async () => {
    const urls = [1, 2, 3, 4].map((n) => `${service.url}missing-${n}.png`);
    const urlBox = page.getByLabel("Or add image URLs");
    await urlBox.fill(urls.join(" "));
    await urlBox.press("Enter");
    await expect
      .poll(() => page.getByRole("alert").textContent())
      .toBe(`${urls[3]} was not added: an edit takes at most 3 images. Remove some to add others.`);
    await expect(page.getByTestId("card").count()).resolves.toBe(MAX_IMAGES);
    await expect(urlBox.inputValue()).resolves.toBe(urls[3]);
    await expect(page.getByTestId("announcer").textContent()).resolves.toBe("Added 3 images by URL");

    // The page is full: the next URL waits for room, and says so.
    await urlBox.press("Enter");
    await expect
      .poll(() => page.getByRole("alert").textContent())
      .toMatch(/missing-4\.png was not added: an edit takes at most 3 images and the page has that many\./);
    await expect(page.getByTestId("card").count()).resolves.toBe(MAX_IMAGES);

    // What is on the page is what the service takes: the edit starts (202), it is not refused.
    await page.getByTestId("command").fill("greyscale");
    await page.locator('[data-testid="plan"][data-status="ok"]').waitFor();
    await page.getByTestId("command").press("Enter");
    await expect.poll(() => starts).toEqual([{ images: MAX_IMAGES, status: 202 }]);
    await shot(page, "keyboard-03-url-limit");
  });
});
