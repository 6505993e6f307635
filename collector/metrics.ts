/**
 * The collector's Prometheus metrics: counters by label set, and gauges read when scraped.
 */

/** One counter (a metric with one label set): hot paths keep it and add to `n`. */
export interface Cell {
  n: number;
}

interface Family {
  readonly help: string;
  readonly type: "counter" | "gauge";
  readonly values: Map<string, Cell>;
  readonly read?: () => number;
}

export class CollectorMetrics {
  private readonly families = new Map<string, Family>();

  constructor() {
    this.counter("otter_egress_collector_frames_total", "dnstap data frames received.");
    this.counter(
      "otter_egress_collector_decode_errors_total",
      "Frames, DNS messages, connections and sniffer reports that could not be read, by stage.",
    );
    this.counter(
      "otter_egress_collector_unattributed_total",
      "Answers and reports whose client no pod could be named for (after waiting for the pod).",
    );
    this.counter(
      "otter_egress_collector_unknown_cluster_names_total",
      "Answers for names in the cluster domain that no Service or pod has, by source.",
    );
    this.counter(
      "otter_egress_collector_observations_total",
      "Observations recorded, by source (dnstap, sniffer).",
    );
    this.counter(
      "otter_egress_collector_writes_total",
      "ObservedEgress status writes, by result (written, unchanged, skipped, refused, failed).",
    );
    this.counter(
      "otter_egress_collector_items_dropped_total",
      "Destinations dropped, by reason (invalid: over the CRD's limits; refused: the API server refused every write with them; full: a report's new destination for a workload at its cap).",
    );
    this.counter(
      "otter_egress_collector_removed_total",
      "ObservedEgress removed because their workload was gone for longer than the window.",
    );
    this.counter(
      "otter_egress_collector_conflicts_total",
      "Writes that met a newer version of the object and were merged again.",
    );
  }

  private counter(name: string, help: string): void {
    this.families.set(name, { help, type: "counter", values: new Map() });
  }

  gauge(name: string, help: string, read: () => number): void {
    this.families.set(name, { help, type: "gauge", values: new Map(), read });
  }

  cell(name: string, labels = ""): Cell {
    const f = this.families.get(name);
    if (!f) throw new Error(`unknown metric ${name}`);
    let c = f.values.get(labels);
    if (!c) f.values.set(labels, (c = { n: 0 }));
    return c;
  }

  inc(name: string, labels = "", by = 1): void {
    this.cell(name, labels).n += by;
  }

  /** The current value (tests and logs). */
  value(name: string, labels = ""): number {
    return this.families.get(name)?.values.get(labels)?.n ?? 0;
  }

  render(): string {
    const lines: string[] = [];
    for (const [name, f] of this.families) {
      lines.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type}`);
      if (f.read) lines.push(`${name} ${f.read()}`);
      else if (f.values.size === 0) lines.push(`${name} 0`);
      for (const [labels, c] of f.values) {
        lines.push(`${name}${labels ? `{${labels}}` : ""} ${c.n}`);
      }
    }
    return `${lines.join("\n")}\n`;
  }
}
