import { Counter, Gauge, type Registry } from "prom-client";
import { labelsOf, metricsRegistry } from "../server/metrics.js";

/**
 * The collector's Prometheus metrics, exposed through prom-client with the process's own.
 * The per-frame path counts into plain cells (an addition, no label lookup); prom-client
 * reads them when scraped.
 */

/** One counter (a metric with one label set): hot paths keep it and add to `n`. */
export interface Cell {
  n: number;
}

export class CollectorMetrics {
  readonly registry: Registry = metricsRegistry();
  /** Each counter's cells, by their label text (`source="dnstap"`). */
  private readonly families = new Map<string, Map<string, Cell>>();

  constructor() {
    this.counter("otter_egress_collector_frames_total", "dnstap data frames received.");
    this.counter(
      "otter_egress_collector_decode_errors_total",
      "Frames, DNS messages, connections and sniffer reports that could not be read, by stage.",
      ["stage"],
    );
    this.counter(
      "otter_egress_collector_unattributed_total",
      "Answers and reports whose client no pod could be named for (after waiting for the pod).",
      ["source"],
    );
    this.counter(
      "otter_egress_collector_unknown_cluster_names_total",
      "Answers for names in the cluster domain that no Service or pod has, by source.",
      ["source"],
    );
    this.counter(
      "otter_egress_collector_observations_total",
      "Observations recorded, by source (dnstap, sniffer).",
      ["source"],
    );
    this.counter(
      "otter_egress_collector_writes_total",
      "ObservedEgress status writes, by result (written, unchanged, skipped, refused, failed).",
      ["result"],
    );
    this.counter(
      "otter_egress_collector_items_dropped_total",
      "Destinations dropped, by reason (invalid: over the CRD's limits; refused: the API server refused every write with them; full: a report's new destination for a workload at its cap).",
      ["reason"],
    );
    this.counter(
      "otter_egress_collector_removed_total",
      "ObservedEgress removed because their workload was gone for longer than the window.",
    );
    this.counter(
      "otter_egress_collector_conflicts_total",
      "Writes that met a newer version of the object and were merged again.",
    );
    this.counter(
      "otter_egress_collector_api_wait_seconds_total",
      "Time requests to the API server waited for the rate limit (--api-qps, --api-burst).",
    );
  }

  private counter(name: string, help: string, labelNames: readonly string[] = []): void {
    const values = new Map<string, Cell>();
    this.families.set(name, values);
    new Counter({
      name,
      help,
      labelNames: [...labelNames],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [labels, c] of values) this.inc(labelsOf(labels), c.n);
      },
    });
  }

  gauge(name: string, help: string, read: () => number): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.set(read());
      },
    });
  }

  cell(name: string, labels = ""): Cell {
    const f = this.families.get(name);
    if (!f) throw new Error(`unknown metric ${name}`);
    let c = f.get(labels);
    if (!c) f.set(labels, (c = { n: 0 }));
    return c;
  }

  inc(name: string, labels = "", by = 1): void {
    this.cell(name, labels).n += by;
  }

  /** The current value (tests and logs). */
  value(name: string, labels = ""): number {
    return this.families.get(name)?.get(labels)?.n ?? 0;
  }

  /** The exposition text, as /metrics serves it. */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}
