// The `method` label of the request metrics: one of a fixed set, never the client's choice (each
// value is a new time series, and Node accepts some thirty methods the app has no route for).
const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]);

export function methodLabel(method: string | undefined): string {
  return method !== undefined && KNOWN_METHODS.has(method) ? method : "unknown";
}
