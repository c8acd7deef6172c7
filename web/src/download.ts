// Saving results: one file, or all of them in a zip built in the page (fflate; images are already
// compressed, so entries are stored, not deflated).
import { zipSync } from "fflate";
import { ApiError, api, fetchBlob, type SessionView } from "./api";
import { resultFileName } from "./format";
import type { Item } from "./state";

export function saveBlob(blob: Blob, name: string): void {
  const href = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = href;
  a.download = name;
  a.rel = "noopener";
  document.body.append(a);
  a.click();
  a.remove();
  // Give the browser time to start the download before the blob goes away.
  setTimeout(() => URL.revokeObjectURL(href), 60_000);
}

/** Sessions asked for fresh links, by id: one request for all the results of a session. */
export type Relinks = Map<string, Promise<SessionView>>;

/**
 * A result's bytes. Its signed link lives 1 h: once refused (403, expired), the session that made
 * it is asked for a freshly signed one, tried once.
 */
export async function fetchResult(item: Item, relinks: Relinks = new Map()): Promise<Blob> {
  const run = item.run;
  if (!run?.result) throw new Error(`${item.name} has no result`);
  try {
    return await fetchBlob(run.result.url);
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 403) || !run.sessionId) throw e;
    let session = relinks.get(run.sessionId);
    if (!session) {
      session = api.session(run.sessionId);
      relinks.set(run.sessionId, session);
    }
    const url = (await session).images.find((i) => i.id === item.key)?.result?.url;
    if (!url) throw e;
    return fetchBlob(url);
  }
}

export async function downloadOne(item: Item): Promise<void> {
  const r = item.run?.result;
  if (!r) return;
  saveBlob(await fetchResult(item), resultFileName(item.name, r.format));
}

export async function downloadAll(items: Item[], zipName: string): Promise<number> {
  const withResults = items.filter((i) => i.run?.result);
  const taken = new Set<string>();
  const entries: Record<string, [Uint8Array, { level: 0 }]> = {};
  const relinks: Relinks = new Map();
  const blobs = await Promise.all(withResults.map((i) => fetchResult(i, relinks)));
  for (const [n, item] of withResults.entries()) {
    const name = resultFileName(item.name, item.run!.result!.format, taken);
    entries[name] = [new Uint8Array(await blobs[n].arrayBuffer()), { level: 0 }];
  }
  const zipped = zipSync(entries);
  saveBlob(new Blob([zipped], { type: "application/zip" }), zipName);
  return withResults.length;
}
