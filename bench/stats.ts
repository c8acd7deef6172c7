// Small statistics and formatting helpers shared by the bench sections.

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  // nearest-rank on the sorted sample: p50 of [1,2,3,4] is 2, p99 of 100 values is the 99th
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

export const median = (values: number[]): number => percentile(values, 50);

export function fmt(n: number | undefined | null, digits = 1): string {
  if (n === undefined || n === null || !Number.isFinite(n)) return "-";
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString("en-US");
  return n.toFixed(digits);
}

export function ratio(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || b === undefined || !(b > 0) || !Number.isFinite(a)) return undefined;
  return a / b;
}

/** A plain-text table: first row is the header; numbers are right-aligned. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows)
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  const line = (row: string[]) =>
    row
      .map((cell, i) => (/^[-+]?[\d,.]+(x|%| MB)?$/.test(cell) ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  const [head, ...body] = rows;
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

export const mb = (kb: number | undefined): number | undefined => (kb === undefined ? undefined : kb / 1024);
