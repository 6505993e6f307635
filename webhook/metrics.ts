import type { AdmissionAnswer } from "../src/admission/review.js";

/** Prometheus metrics of the webhook: decisions, rejected bodies, and a latency histogram. */

const BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

export class Metrics {
  /** Decisions by their label set: result (allowed, warned, denied) and the namespace's mode. */
  private readonly decisions = new Map<string, number>();
  /** Failing findings by verdict and mode. */
  private readonly findings = new Map<string, number>();
  private readonly rejects = new Map<string, number>();
  private readonly buckets = new Array<number>(BUCKETS.length).fill(0);
  private count = 0;
  private sum = 0;

  /** One decision; a dry run (Argo CD's server-side diff) is counted apart. */
  decided(answer: AdmissionAnswer, seconds: number, dryRun = false): void {
    const result = !answer.allowed ? "denied" : answer.warnings.length > 0 ? "warned" : "allowed";
    const mode = answer.mode ?? "none";
    const labels = `result="${result}",mode="${mode}",dry_run="${dryRun}"`;
    this.decisions.set(labels, (this.decisions.get(labels) ?? 0) + 1);
    for (const verdict of answer.failing ?? []) {
      const key = `verdict="${verdict}",mode="${mode}"`;
      this.findings.set(key, (this.findings.get(key) ?? 0) + 1);
    }
    this.count++;
    this.sum += seconds;
    for (let i = 0; i < BUCKETS.length; i++) {
      if (seconds <= (BUCKETS[i] as number)) this.buckets[i] = (this.buckets[i] as number) + 1;
    }
  }

  rejected(reason: string): void {
    this.rejects.set(reason, (this.rejects.get(reason) ?? 0) + 1);
  }

  render(cacheFailures?: ReadonlyMap<string, number>): string {
    const lines = [
      "# HELP otter_egress_admission_cache_failures_total Failed lists and broken watches of the caches; while one relists, the webhook is not ready.",
      "# TYPE otter_egress_admission_cache_failures_total counter",
      ...[...(cacheFailures ?? [])].map(
        ([cache, n]) => `otter_egress_admission_cache_failures_total{cache="${cache}"} ${n}`,
      ),
      "# HELP otter_egress_admission_decisions_total Admission decisions by result, the namespace's gate mode, and whether the request was a dry run.",
      "# TYPE otter_egress_admission_decisions_total counter",
      ...[...this.decisions].map(([l, n]) => `otter_egress_admission_decisions_total{${l}} ${n}`),
      "# HELP otter_egress_admission_findings_total Findings that failed a check, by verdict and mode.",
      "# TYPE otter_egress_admission_findings_total counter",
      ...[...this.findings].map(([l, n]) => `otter_egress_admission_findings_total{${l}} ${n}`),
      "# HELP otter_egress_admission_rejected_total Request bodies refused before a decision.",
      "# TYPE otter_egress_admission_rejected_total counter",
      ...[...this.rejects].map(
        ([r, n]) => `otter_egress_admission_rejected_total{reason="${r}"} ${n}`,
      ),
      "# HELP otter_egress_admission_duration_seconds Time to decide one review.",
      "# TYPE otter_egress_admission_duration_seconds histogram",
      ...BUCKETS.map(
        (b, i) => `otter_egress_admission_duration_seconds_bucket{le="${b}"} ${this.buckets[i]}`,
      ),
      `otter_egress_admission_duration_seconds_bucket{le="+Inf"} ${this.count}`,
      `otter_egress_admission_duration_seconds_sum ${this.sum}`,
      `otter_egress_admission_duration_seconds_count ${this.count}`,
    ];
    return lines.join("\n") + "\n";
  }
}
