// Metrics in Lambda as CloudWatch embedded metric format (EMF): one JSON line per data point on
// stdout, which CloudWatch Logs turns into metrics with no API calls and no extra latency.
// process.stdout.write (not console.log) keeps the line bare JSON, without the runtime's prefix.
import type { Labels, Metrics } from "../../ports.js";

export type EmfUnit = "Count" | "Seconds" | "Milliseconds" | "Bytes" | "Percent" | "None";

export interface EmfMetricsOptions {
  namespace?: string;
  /** Dimensions on every metric, e.g. { service: "imgedit", function: "processor" }. */
  dimensions?: Record<string, string>;
  /**
   * Labels that become dimensions too. Every distinct dimension combination is a billed custom
   * metric, so by default only `outcome` does; all labels stay on the line for Logs Insights.
   */
  labelDimensions?: string[];
  write?: (line: string) => void;
  now?: () => number;
}

/** The unit a metric's name implies (Prometheus-style suffixes). */
export function unitFor(name: string, kind: "counter" | "histogram" | "gauge"): EmfUnit {
  if (kind === "counter") return "Count";
  if (/_seconds$/.test(name)) return "Seconds";
  if (/_(ms|milliseconds)$/.test(name)) return "Milliseconds";
  if (/_bytes$/.test(name)) return "Bytes";
  if (/_(percent|ratio)$/.test(name)) return "Percent";
  return "None";
}

export class EmfMetrics implements Metrics {
  private readonly namespace: string;
  private readonly dimensions: Record<string, string>;
  private readonly write: (line: string) => void;
  private readonly now: () => number;
  private readonly labelDimensions: Set<string>;

  constructor(opts: EmfMetricsOptions = {}) {
    this.labelDimensions = new Set(opts.labelDimensions ?? ["outcome"]);
    this.namespace = opts.namespace ?? "imgedit";
    this.dimensions = opts.dimensions ?? { service: "imgedit" };
    this.write = opts.write ?? ((line) => process.stdout.write(line));
    this.now = opts.now ?? Date.now;
  }

  private emit(name: string, value: number, unit: EmfUnit, labels: Labels = {}): void {
    if (!Number.isFinite(value)) return;
    const props: Record<string, string> = {};
    for (const [k, v] of Object.entries(labels)) {
      // A label named like the metric (or _aws) would overwrite the document's own fields.
      if (k !== name && k !== "_aws" && !(k in this.dimensions)) props[k] = String(v);
    }
    const keys = [
      ...Object.keys(this.dimensions),
      ...Object.keys(props).filter((k) => this.labelDimensions.has(k)),
    ].slice(0, 30); // EMF allows 30 dimensions per set
    const doc = {
      _aws: {
        Timestamp: this.now(),
        CloudWatchMetrics: [{ Namespace: this.namespace, Dimensions: [keys], Metrics: [{ Name: name, Unit: unit }] }],
      },
      ...this.dimensions,
      ...props,
      [name]: value,
    };
    this.write(`${JSON.stringify(doc)}\n`);
  }

  increment(name: string, labels?: Labels, value = 1): void {
    this.emit(name, value, unitFor(name, "counter"), labels);
  }

  observe(name: string, value: number, labels?: Labels): void {
    this.emit(name, value, unitFor(name, "histogram"), labels);
  }

  gauge(name: string, value: number, labels?: Labels): void {
    this.emit(name, value, unitFor(name, "gauge"), labels);
  }
}
