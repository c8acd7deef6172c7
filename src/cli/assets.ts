// Watermark images for `imgedit edit`. http(s) URLs go through the server's safe fetcher with the
// server's settings (FETCH_ALLOW_HOSTS, FETCH_TIMEOUT_MS, FETCH_CONNECT_TIMEOUT_MS,
// FETCH_MAX_REDIRECTS, MAX_IMAGE_SIZE, from the environment); file: URLs read a local file (the
// CLI already reads whatever files its user names). Each distinct URL is loaded once per run
// (a failure too: it is not retried for every image), before any image's steps run: a watermark
// that cannot be loaded fails every image at once, instead of after each image's earlier steps.
import { constants } from "node:fs";
import { open, stat } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { type Config, ConfigError } from "../config.js";
import { tooLargeMessage } from "../core/bytes.js";
import { type ErrorCode, ImageEditError, isImageEditError } from "../core/errors.js";
import type { Plan } from "../core/operations.js";
import { requireImageType } from "../core/sniff.js";
import type { FetchPolicy } from "../fetch/index.js";
import { errnoCode, notAFile, readProblem } from "./fs-errors.js";

/** A watermark step of the plan: where its image comes from. */
export interface AssetUse {
  url: string;
  /** The step's index in the plan (for messages: "operations[2] (watermark): ..."). */
  index: number;
}

export interface AssetLoader {
  /** The distinct assets the plan uses, with the first step that uses each. */
  readonly uses: readonly AssetUse[];
  /** Loads every asset (once); rejects with the first failure, named by its step and URL. */
  ready(): Promise<void>;
  /** An asset's bytes: the one load of that URL, shared by every image (for processImage). */
  load(url: string): Promise<Buffer>;
}

/** The distinct watermark URLs of a plan, in plan order. */
export function assetUses(plan: Plan): AssetUse[] {
  const seen = new Set<string>();
  const uses: AssetUse[] = [];
  plan.forEach((op, index) => {
    if (op.op !== "watermark") return;
    const { url } = op as { url: string };
    if (seen.has(url)) return;
    seen.add(url);
    uses.push({ url, index });
  });
  return uses;
}

/**
 * The asset loader for one run. The fetch settings are built only when the plan has an http(s)
 * watermark; a bad FETCH_ALLOW_HOSTS entry is a ConfigError (exit 2), as at the server's start.
 */
export async function createAssetLoader(plan: Plan, config: Config): Promise<AssetLoader> {
  const uses = assetUses(plan);
  let policy: FetchPolicy | undefined;
  if (uses.some((u) => isHttp(u.url))) {
    const { fetchPolicyFromConfig } = await import("../fetch/index.js");
    try {
      policy = fetchPolicyFromConfig(config);
    } catch (e) {
      if (isImageEditError(e)) throw new ConfigError(`${e.field ?? "FETCH_ALLOW_HOSTS"}: ${e.message}`);
      throw e;
    }
  }
  const maxBytes = config.MAX_IMAGE_SIZE;
  const loads = new Map<string, Promise<Buffer>>();
  const load = (url: string): Promise<Buffer> => {
    let loading = loads.get(url);
    if (!loading) {
      loading = loadOne(url, policy, maxBytes).catch((e: unknown) => {
        throw cannotLoad(url, e);
      });
      // Rejections are reported by whoever awaits the load; never as an unhandled rejection.
      loading.catch(() => {});
      loads.set(url, loading);
    }
    return loading;
  };
  let all: Promise<void> | undefined;
  const ready = (): Promise<void> => {
    all ??= Promise.all(
      uses.map((u) =>
        load(u.url).catch((e: unknown) => {
          throw atStep(e, u.index);
        }),
      ),
    ).then(() => undefined);
    return all;
  };
  return { uses, ready, load };
}

function isHttp(url: string): boolean {
  return /^https?:/i.test(url);
}

/**
 * The URL for messages: as the fetcher shows it (no user:password@, no #fragment), and never in
 * full when long (a data: URL can be megabytes).
 */
function shown(url: string): string {
  let out = url;
  if (isHttp(url)) {
    try {
      const u = new URL(url);
      u.username = "";
      u.password = "";
      u.hash = "";
      out = u.href;
    } catch {
      // not a URL the fetcher could parse either: shown as given
    }
  }
  return out.length > 200 ? `${out.slice(0, 100)}...` : out;
}

async function loadOne(url: string, policy: FetchPolicy | undefined, maxBytes: number): Promise<Buffer> {
  if (isHttp(url)) {
    if (!policy) throw new Error(`no fetch settings for ${url}`); // every http(s) use sets them up
    const { fetchImage } = await import("../fetch/index.js");
    return (await fetchImage(url, policy)).data;
  }
  if (/^file:/i.test(url)) return readLocal(url, maxBytes);
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1] ?? url;
  throw new ImageEditError(
    "FETCH_BLOCKED",
    `the scheme "${scheme}" is not supported; the CLI loads watermarks from http(s) URLs (private hosts need FETCH_ALLOW_HOSTS) or local files as file:///absolute/path.png`,
    { details: { reason: "scheme", scheme } },
  );
}

/** A file: URL's image, under the same byte cap as an input image. */
async function readLocal(url: string, maxBytes: number): Promise<Buffer> {
  let file: string;
  try {
    file = fileURLToPath(url);
  } catch (e) {
    throw new ImageEditError("INVALID_INPUT", `not a local file URL (${(e as Error).message})`);
  }
  const problem = async (e: unknown): Promise<ImageEditError> => {
    const code = errnoCode(e);
    const failure = await readProblem(file, e);
    const as: ErrorCode =
      code === "ENOENT" || code === "ENOTDIR"
        ? "NOT_FOUND"
        : code === "EACCES" || code === "EPERM"
          ? "FORBIDDEN"
          : "INVALID_INPUT";
    return new ImageEditError(as, failure.message, { cause: e });
  };
  // Checked before opening: opening a FIFO waits for a writer, forever. Opened without blocking
  // too, in case the file is swapped for a FIFO in between; checked again on what was opened.
  const notRegular = (st: { isFile(): boolean; isDirectory(): boolean }) =>
    new ImageEditError("INVALID_INPUT", notAFile(file, st.isDirectory()).message);
  const before = await stat(file).catch(async (e: unknown) => {
    throw await problem(e);
  });
  if (!before.isFile()) throw notRegular(before);
  const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK).catch(async (e: unknown) => {
    throw await problem(e);
  });
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw notRegular(st);
    if (st.size > maxBytes)
      throw new ImageEditError("IMAGE_TOO_LARGE", tooLargeMessage(st.size, maxBytes, file), {
        details: { limit: maxBytes, bytes: st.size },
      });
    const data = await handle.readFile().catch(async (e: unknown) => {
      throw await problem(e);
    });
    requireImageType(data, file);
    return data;
  } finally {
    await handle.close().catch(() => {});
  }
}

/** "cannot load <url>: <why>", keeping the error's code. */
function cannotLoad(url: string, e: unknown): ImageEditError {
  const err = isImageEditError(e)
    ? e
    : new ImageEditError("FETCH_FAILED", e instanceof Error ? e.message : String(e), { cause: e });
  const where = shown(url);
  // "http://x/a.png answered HTTP 404 Not Found": the URL is named once, up front.
  const why = err.message.startsWith(`${where} `) ? `the server${err.message.slice(where.length)}` : err.message;
  return new ImageEditError(err.code, `cannot load ${where}: ${why}${allowHint(err)}`, {
    field: "url",
    details: { ...err.details, url: where },
    retryable: err.retryable,
    cause: err,
  });
}

/** For a host refused for its address (loopback, private...): the FETCH_ALLOW_HOSTS entry that allows it. */
function allowHint(err: ImageEditError): string {
  const d = err.details ?? {};
  if (err.code !== "FETCH_BLOCKED" || d.reason !== "address" || typeof d.url !== "string") return "";
  try {
    const u = new URL(d.url);
    const port = u.port || (u.protocol === "https:" ? "443" : "80");
    return ` (to fetch from it anyway, add ${u.hostname}:${port} to FETCH_ALLOW_HOSTS)`;
  } catch {
    return "";
  }
}

/** As the pipeline names a failed step: "operations[4] (watermark): ...". */
function atStep(e: unknown, index: number): ImageEditError {
  const err = isImageEditError(e) ? e : cannotLoad("?", e);
  return new ImageEditError(err.code, `operations[${index}] (watermark): ${err.message}`, {
    field: `operations[${index}].url`,
    details: err.details,
    retryable: err.retryable,
    cause: err,
  });
}
