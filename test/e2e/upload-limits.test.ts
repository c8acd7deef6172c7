// The page learns the server's limits (GET /auth/config) and refuses, before sending a byte, what the
// server would refuse: a file over the upload limit, a format it does not read, more images than an
// edit takes. The other files of the same drop still upload. Real service with a small
// MAX_IMAGE_SIZE and MAX_IMAGES_PER_REQUEST; the AWS answer (uploads capped below the image limit)
// and an older server's (no limits) are the real answer rewritten on its way to the page.
import type { Browser, BrowserContext, Locator, Page, Route } from "playwright-core";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, openPage, type RunningService, shot, signInLocally, startService } from "./browser.js";

const LIMIT = 1_572_864; // 1.5 MB
const MAX_IMAGES = 3;
/** The upload limit of the AWS-like answer in the Keep editing test: the noise JPEG fits, its PNG does not. */
const NOISE_UPLOAD_LIMIT = 50_000;

describe("the editor page and the server's limits", () => {
  let service: RunningService;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let jpegB64: string;
  let pngB64: string;
  let noiseB64: string;
  /** Names of the files the page sent to POST /uploads. */
  const sent: string[] = [];
  const pageErrors: string[] = [];
  const card = (name: string): Locator => page.getByTestId("card").filter({ hasText: name });

  /** Drops files on the drop zone; `pad` makes a file that many bytes long (a real image + trailing bytes). */
  const drop = async (
    files: { name: string; kind: "jpeg" | "png" | "noise" | "text"; bytes?: number; type?: string }[],
  ) => {
    const specs = JSON.stringify(files);
    // Page code as a string: this file is type-checked without the DOM library.
    const transfer = await page.evaluateHandle(`(() => {
      const decode = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const images = {
        jpeg: decode("${jpegB64}"),
        png: decode("${pngB64}"),
        noise: decode("${noiseB64}"),
        text: new TextEncoder().encode("notes"),
      };
      const types = { jpeg: "image/jpeg", png: "image/png", noise: "image/jpeg", text: "text/plain" };
      const dt = new DataTransfer();
      for (const f of ${specs}) {
        const head = images[f.kind];
        const parts = f.bytes ? [head, new Uint8Array(f.bytes - head.length)] : [head];
        dt.items.add(new File(parts, f.name, { type: f.type ?? types[f.kind] }));
      }
      return dt;
    })()`);
    await page.getByTestId("dropzone").dispatchEvent("drop", { dataTransfer: transfer });
  };

  const note = () => page.getByTestId("file-error").textContent();
  const hint = () => page.getByTestId("limits-hint").textContent();

  /** Serves GET /auth/config as the real service answers it, rewritten by `edit`. */
  const rewriteConfig = (edit: (answer: Record<string, unknown>) => Record<string, unknown>) =>
    page.route(
      (url) => url.pathname === "/auth/config",
      async (route: Route) => {
        const res = await route.fetch();
        await route.fulfill({ response: res, json: edit((await res.json()) as Record<string, unknown>) });
      },
    );

  const signIn = () => signInLocally(page, service.url);

  beforeAll(async () => {
    jpegB64 = (
      await sharp({ create: { width: 160, height: 120, channels: 3, background: "#b45309" } })
        .jpeg()
        .toBuffer()
    ).toString("base64");
    pngB64 = (
      await sharp({ create: { width: 140, height: 100, channels: 3, background: "#0e7490" } })
        .png()
        .toBuffer()
    ).toString("base64");
    // Noise: a small JPEG whose PNG conversion is much bigger (noise does not compress).
    const raw = Buffer.alloc(200 * 150 * 3);
    for (let i = 0, x = 12345; i < raw.length; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      raw[i] = x >>> 24;
    }
    const noise = await sharp(raw, { raw: { width: 200, height: 150, channels: 3 } })
      .jpeg({ quality: 40 })
      .toBuffer();
    expect(noise.length).toBeLessThan(NOISE_UPLOAD_LIMIT);
    noiseB64 = noise.toString("base64");
    service = await startService({ MAX_IMAGE_SIZE: String(LIMIT), MAX_IMAGES_PER_REQUEST: String(MAX_IMAGES) });
    browser = await launchBrowser();
    ({ context, page } = await openPage(browser, { viewport: { width: 1280, height: 900 } }, pageErrors));
    // What reached POST /uploads, by the name the server answers (a request the server refused
    // counts too): the multipart body itself is not readable from here.
    page.on("response", async (r) => {
      if (r.request().method() !== "POST" || new URL(r.url()).pathname !== "/uploads") return;
      const answer = (await r.json().catch(() => ({}))) as { name?: string };
      sent.push(answer.name ?? "(refused by the server)");
    });
    await signIn();
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await service?.close();
  });

  it("shows the server's real limits in the hint", async () => {
    await expect.poll(hint).toBe("JPEG, PNG, WebP, GIF, TIFF, AVIF · up to 1.5 MB each · 3 images per edit");
  });

  it("refuses an oversize file and a format the server does not read, and uploads the good one of the same drop", async () => {
    await drop([
      { name: "huge.jpg", kind: "jpeg", bytes: 2 * 1024 * 1024 },
      { name: "fine.png", kind: "png" },
      { name: "phone.heic", kind: "jpeg", type: "image/heic" },
      { name: "notes.txt", kind: "text" },
    ]);
    await card("fine.png").and(page.locator('[data-status="ready"]')).waitFor();
    const text = await note();
    expect(text).toContain("huge.jpg is 2 MB: images can be up to 1.5 MB here.");
    expect(text).toContain(
      "notes.txt is not an image; phone.heic (HEIC) is a format this service does not read: add JPEG, PNG, WebP, GIF, TIFF or AVIF files.",
    );
    // Locally uploads take as much as URLs: no advice to go by URL.
    expect(text).not.toMatch(/by URL/);
    // Refused before sending: only the good file went to the server, and only it has a card.
    await expect.poll(() => sent).toEqual(["fine.png"]);
    await expect(page.getByTestId("card").count()).resolves.toBe(1);
    await shot(page, "limits-01-refused");
  });

  it("adds no more images than one edit takes, the first ones of the drop going on", async () => {
    await drop([
      { name: "one.png", kind: "png" },
      { name: "two.png", kind: "png" },
      { name: "three.png", kind: "png" },
    ]);
    await card("two.png").and(page.locator('[data-status="ready"]')).waitFor();
    await card("one.png").and(page.locator('[data-status="ready"]')).waitFor();
    await expect(note()).resolves.toMatch(/^three\.png was not added: an edit takes at most 3 images\./);
    await expect.poll(() => [...sent].sort()).toEqual(["fine.png", "one.png", "two.png"]);
    await expect(page.getByTestId("card").count()).resolves.toBe(MAX_IMAGES);
    // The page is full: the next file waits for room, and says so.
    await drop([{ name: "four.png", kind: "png" }]);
    await expect.poll(note).toMatch(/four\.png was not added: .*the page has that many/);
    expect(pageErrors).toEqual([]);
  });

  it("on AWS (uploads capped below the image limit) suggests adding a too-big upload by URL", async () => {
    await rewriteConfig((a) => ({
      ...a,
      limits: { ...(a.limits as object), maxUploadBytes: 1024 * 1024, maxImagesPerRequest: 10 },
    }));
    try {
      await signInFresh();
      await expect
        .poll(hint)
        .toBe("JPEG, PNG, WebP, GIF, TIFF, AVIF · up to 1 MB each, 1.5 MB by URL · 10 images per edit");
      sent.length = 0;
      await drop([
        { name: "camera.jpg", kind: "jpeg", bytes: 1_300_000 },
        { name: "small.png", kind: "png" },
      ]);
      await card("small.png").and(page.locator('[data-status="ready"]')).waitFor();
      await expect(note()).resolves.toBe(
        "camera.jpg is 1.2 MB: uploads can be up to 1 MB here. Add it by URL instead (up to 1.5 MB).",
      );
      await expect.poll(() => sent).toEqual(["small.png"]);
      await shot(page, "limits-02-by-url");
    } finally {
      await page.unrouteAll();
    }
  });

  it("on AWS, says on the card when a result is too big to upload again for Keep editing", async () => {
    await rewriteConfig((a) => ({ ...a, limits: { ...(a.limits as object), maxUploadBytes: NOISE_UPLOAD_LIMIT } }));
    try {
      await signInFresh();
      await expect.poll(hint).toMatch(/up to 0\.048 MB each, 1\.5 MB by URL/);
      await drop([{ name: "noise.jpg", kind: "noise" }]);
      await card("noise.jpg").and(page.locator('[data-status="ready"]')).waitFor();
      await page.getByTestId("command").fill("convert to png");
      await page.getByTestId("command").press("Enter");
      await card("noise.jpg").and(page.locator('[data-status="done"]')).waitFor();
      sent.length = 0;
      await page.getByRole("button", { name: "Keep editing" }).click();
      await card("noise.png").and(page.locator('[data-status="upload-failed"]')).waitFor();
      await expect(card("noise.png").getByTestId("card-status").textContent()).resolves.toMatch(
        /^noise\.png is 0\.\d+ MB: uploads can be up to 0\.048 MB here\. Add it by URL instead \(up to 1\.5 MB\)\.$/,
      );
      expect(sent).toEqual([]);
    } finally {
      await page.unrouteAll();
    }
  });

  it("screens files dropped before the limits arrive, once they do (nothing goes up unchecked)", async () => {
    let answer: () => void = () => undefined;
    const held = new Promise<void>((r) => {
      answer = r;
    });
    await page.route(
      (url) => url.pathname === "/auth/config",
      async (route: Route) => {
        const res = await route.fetch();
        await held;
        await route.fulfill({ response: res });
      },
    );
    try {
      await signInFresh();
      sent.length = 0;
      await drop([
        { name: "early-huge.jpg", kind: "jpeg", bytes: 2 * 1024 * 1024 },
        { name: "early.png", kind: "png" },
      ]);
      // The drop waits for the limits: no card, nothing sent yet.
      await page.waitForTimeout(300);
      expect(sent).toEqual([]);
      await expect(page.getByTestId("card").count()).resolves.toBe(0);
      answer();
      await card("early.png").and(page.locator('[data-status="ready"]')).waitFor();
      await expect(note()).resolves.toBe("early-huge.jpg is 2 MB: images can be up to 1.5 MB here.");
      await expect.poll(() => sent).toEqual(["early.png"]);
      await expect(page.getByTestId("card").count()).resolves.toBe(1);
    } finally {
      answer();
      await page.unrouteAll({ behavior: "ignoreErrors" });
    }
  });

  it("against an older server without limits, behaves as before: the fixed hint, the server refuses", async () => {
    await rewriteConfig(({ limits: _gone, ...rest }) => rest);
    try {
      await signInFresh();
      await expect.poll(hint).toBe("JPEG, PNG, WebP, AVIF, GIF, TIFF · up to 25 MB each");
      await drop([{ name: "huge.jpg", kind: "jpeg", bytes: 2 * 1024 * 1024 }]);
      await card("huge.jpg").and(page.locator('[data-status="upload-failed"]')).waitFor();
      await expect(card("huge.jpg").getByTestId("card-status").textContent()).resolves.toMatch(/MAX_IMAGE_SIZE/);
      await expect(note()).resolves.toBe("");
    } finally {
      await page.unrouteAll();
    }
  });

  it("counts only images that are present or uploading against the limit: a failed upload frees its slot", async () => {
    await signInFresh();
    sent.length = 0;
    // Passes the page's screening (an image by its type), refused by the server: not a picture.
    await drop([{ name: "broken.jpg", kind: "text", type: "image/jpeg" }]);
    await card("broken.jpg").and(page.locator('[data-status="upload-failed"]')).waitFor();
    await drop([
      { name: "a.png", kind: "png" },
      { name: "b.png", kind: "png" },
      { name: "c.png", kind: "png" },
    ]);
    // The note is written before the first card shows: none, all three fit.
    await card("a.png").waitFor();
    await expect(note()).resolves.toBe("");
    for (const name of ["a.png", "b.png", "c.png"])
      await card(name).and(page.locator('[data-status="ready"]')).waitFor();
    // The failed card stays, with its reason and Remove, until the user removes it.
    await expect(
      card("broken.jpg")
        .getByRole("button", { name: /^Remove/ })
        .isEnabled(),
    ).resolves.toBe(true);
    // Now the page is full: the next one is refused.
    await drop([{ name: "d.png", kind: "png" }]);
    await expect.poll(note).toMatch(/d\.png was not added: .*the page has that many/);
    await expect.poll(() => [...sent].sort()).toEqual(["(refused by the server)", "a.png", "b.png", "c.png"]);
    // The edit goes with the three present images.
    await page.getByTestId("command").fill("convert to webp");
    await page.getByTestId("command").press("Enter");
    for (const name of ["a.png", "b.png", "c.png"])
      await card(name).and(page.locator('[data-status="done"]')).waitFor();
    expect(pageErrors).toEqual([]);
  });

  /** A new tab's editor (the limits are read when the editor opens), signed in as before. */
  async function signInFresh() {
    await page.reload();
    await page.getByRole("heading", { name: "Images", exact: true }).waitFor();
  }
});
