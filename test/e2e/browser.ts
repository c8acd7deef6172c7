// Helpers for the browser tests: Debian's Chromium through playwright-core (never a downloaded
// browser), the real service on loopback with its own data directory, and test images made by sharp.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { type Browser, type BrowserContext, type BrowserContextOptions, chromium, type Page } from "playwright-core";
import sharp from "sharp";
import { afterAll, beforeAll } from "vitest";
import { loadConfig } from "../../src/config.js";
import { startLocalServer } from "../../src/server.js";

export const CHROMIUM = "/usr/bin/chromium";
export const SHOTS = path.resolve("test-results/e2e");

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

export interface RunningService {
  url: string;
  dataDir: string;
  /** Mint a bearer token for a user, as `imgedit token --user NAME [--ttl SECONDS]` does. */
  token(user: string, ttlSec?: number): Promise<string>;
  close(): Promise<void>;
}

/** The real service (SQLite, filesystem objects, worker pool) on 127.0.0.1, port chosen by the OS. */
export async function startService(extra: Record<string, string> = {}): Promise<RunningService> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "imgedit-e2e-"));
  const config = loadConfig({
    DATA_DIR: dataDir,
    PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL: "silent",
    LOCAL_SIGN_IN: "true",
    WORKER_CONCURRENCY: "2",
    // The tests start several edits a minute on purpose.
    RATE_LIMIT_PER_MINUTE: "1000",
    MAX_CONCURRENT_SESSIONS: "10",
    ...extra,
  });
  const server = await startLocalServer(config);
  return {
    url: server.url.endsWith("/") ? server.url : `${server.url}/`,
    dataDir,
    token: (user, ttlSec) => server.token(user, ttlSec),
    close: async () => {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A service started with `extra` settings and a browser, for the tests of one describe block:
 * started before them, closed after. Read `service` and `browser` inside the tests.
 */
export function serviceAndBrowser(extra: Record<string, string> = {}): { service: RunningService; browser: Browser } {
  const run = {} as { service: RunningService; browser: Browser };
  beforeAll(async () => {
    run.service = await startService(extra);
    run.browser = await launchBrowser();
  });
  afterAll(async () => {
    await run.browser?.close();
    await run.service?.close();
  });
  return run;
}

/**
 * A new context and page, with a generous timeout (the machine is shared; nothing here asserts
 * speed) and, given a list, the page's uncaught errors collected into it.
 */
export async function openPage(
  browser: Browser,
  options: BrowserContextOptions,
  pageErrors?: string[],
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  page.setDefaultTimeout(60_000);
  if (pageErrors) page.on("pageerror", (e) => pageErrors.push(e.message));
  return { context, page };
}

/** Opens the service's page and signs in with its one-click local sign-in. */
export async function signInLocally(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.getByRole("button", { name: "Sign in locally" }).click();
  await page.getByRole("heading", { name: "Images", exact: true }).waitFor();
}

/** A landscape scene as a 1200x800 JPEG: sky gradient, sun, two mountain ranges. */
export function landscapeJpeg(width = 1200, height = 800): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 1200 800">
    <defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1">
      <stop offset="0" stop-color="#1e3a8a"/><stop offset="0.55" stop-color="#f472b6"/><stop offset="1" stop-color="#fbbf24"/>
    </linearGradient></defs>
    <rect width="1200" height="800" fill="url(#sky)"/>
    <circle cx="820" cy="470" r="120" fill="#fde68a"/>
    <path d="M0 560 L220 360 L380 500 L560 300 L760 520 L940 380 L1200 560 L1200 800 L0 800 Z" fill="#312e81"/>
    <path d="M0 660 L260 520 L480 640 L720 500 L1000 650 L1200 560 L1200 800 L0 800 Z" fill="#1e1b4b"/>
  </svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 88 }).toBuffer();
}

/** A square abstract picture as a 900x900 PNG with transparency. */
export function abstractPng(size = 900): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 900 900">
    <rect x="40" y="40" width="820" height="820" rx="120" fill="#ecfeff"/>
    <circle cx="330" cy="360" r="230" fill="#06b6d4" fill-opacity="0.85"/>
    <circle cx="580" cy="420" r="210" fill="#a855f7" fill-opacity="0.75"/>
    <circle cx="450" cy="620" r="190" fill="#f97316" fill-opacity="0.7"/>
  </svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

/** Writes buffers to a fresh temp directory so the file chooser can pick them. */
export function writeTemp(files: Record<string, Buffer>): { paths: string[]; cleanup(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), "imgedit-e2e-in-"));
  const paths = Object.entries(files).map(([name, data]) => {
    const p = path.join(dir, name);
    writeFileSync(p, data);
    return p;
  });
  return { paths, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function shot(page: Page, name: string): Promise<string> {
  mkdirSync(SHOTS, { recursive: true });
  const file = path.join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** A plain image of one colour, for pages that need a few distinct inputs. */
export const solid = (width: number, height: number, background: string) =>
  sharp({ create: { width, height, channels: 3, background } });
