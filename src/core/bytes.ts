// Byte counts as people read them, and the one wording of "over the size limit" that the API,
// the fetcher, the stores and the CLI all give (a bare "23181 bytes; the limit is 10" left users
// guessing at units and at which setting to change).

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** A size in units, with the exact count beside it when the units round. */
export function describeBytes(n: number): string {
  return n < 1024 ? formatBytes(n) : `${formatBytes(n)} (${n.toLocaleString("en-US")} bytes)`;
}

/** The byte limit and the setting that raises it. */
export function byteLimit(limit: number, setting = "MAX_IMAGE_SIZE"): string {
  return `the limit is ${formatBytes(limit)} (${setting})`;
}

/** `what` (an image, an upload, a file) of `size` bytes over `limit`. */
export function tooLargeMessage(size: number, limit: number, what = "image", setting?: string): string {
  return `${what} is ${describeBytes(size)}; ${byteLimit(limit, setting)}`;
}
