// Metrics port on prom-client: metrics are created on first use from the name and label keys;
// names ending in _total are counters, observe() makes histograms, gauge() gauges.
import client from "prom-client";
import type { Labels, Metrics } from "../../ports.js";

const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export class PromMetrics implements Metrics {
  readonly registry = new client.Registry();
  readonly contentType = client.Registry.PROMETHEUS_CONTENT_TYPE;
  private readonly counters = new Map<string, client.Counter>();
  private readonly histograms = new Map<string, client.Histogram>();
  private readonly gauges = new Map<string, client.Gauge>();
  private readonly names = new Map<string, string[]>();

  constructor(
    private readonly prefix = "imgedit_",
    collectDefaults = true,
  ) {
    if (collectDefaults) client.collectDefaultMetrics({ register: this.registry, prefix });
  }

  private labelsOf(labels?: Labels): Record<string, string | number> {
    return labels ?? {};
  }

  /** Labels fitted to a metric's label names (fixed at creation): a mismatch never throws. */
  private fit(names: string[], labels?: Labels): Record<string, string | number> {
    const out: Record<string, string | number> = {};
    for (const n of names) out[n] = labels?.[n] ?? "none";
    return out;
  }

  increment(name: string, labels?: Labels, value = 1): void {
    let c = this.counters.get(name);
    if (!c) {
      c = new client.Counter({
        name: this.prefix + name,
        help: name.replace(/_/g, " "),
        labelNames: Object.keys(this.labelsOf(labels)),
        registers: [this.registry],
      });
      this.names.set(name, Object.keys(this.labelsOf(labels)));
      this.counters.set(name, c);
    }
    c.inc(this.fit(this.names.get(name)!, labels), value);
  }

  observe(name: string, value: number, labels?: Labels): void {
    let h = this.histograms.get(name);
    if (!h) {
      h = new client.Histogram({
        name: this.prefix + name,
        help: name.replace(/_/g, " "),
        labelNames: Object.keys(this.labelsOf(labels)),
        buckets: name.endsWith("_bytes") ? client.exponentialBuckets(1024, 4, 10) : SECONDS_BUCKETS,
        registers: [this.registry],
      });
      this.names.set(name, Object.keys(this.labelsOf(labels)));
      this.histograms.set(name, h);
    }
    h.observe(this.fit(this.names.get(name)!, labels), value);
  }

  gauge(name: string, value: number, labels?: Labels): void {
    let g = this.gauges.get(name);
    if (!g) {
      g = new client.Gauge({
        name: this.prefix + name,
        help: name.replace(/_/g, " "),
        labelNames: Object.keys(this.labelsOf(labels)),
        registers: [this.registry],
      });
      this.names.set(name, Object.keys(this.labelsOf(labels)));
      this.gauges.set(name, g);
    }
    g.set(this.fit(this.names.get(name)!, labels), value);
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}

/** A Metrics that records nothing (CLI, tests that do not look). */
export const noMetrics: Metrics = { increment() {}, observe() {}, gauge() {} };
