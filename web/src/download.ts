// Saving results: one file, or all of them in a zip built in the page (fflate; images are already
// compressed, so entries are stored, not deflated).
import { zipSync } from "fflate";
import { fetchBlob } from "./api";
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

export async function downloadOne(item: Item): Promise<void> {
  const r = item.run?.result;
  if (!r) return;
  saveBlob(await fetchBlob(r.url), resultFileName(item.name, r.format));
}

export async function downloadAll(items: Item[], zipName: string): Promise<number> {
  const withResults = items.filter((i) => i.run?.result);
  const taken = new Set<string>();
  const entries: Record<string, [Uint8Array, { level: 0 }]> = {};
  const blobs = await Promise.all(withResults.map((i) => fetchBlob(i.run!.result!.url)));
  for (const [n, item] of withResults.entries()) {
    const name = resultFileName(item.name, item.run!.result!.format, taken);
    entries[name] = [new Uint8Array(await blobs[n].arrayBuffer()), { level: 0 }];
  }
  const zipped = zipSync(entries);
  saveBlob(new Blob([zipped], { type: "application/zip" }), zipName);
  return withResults.length;
}
