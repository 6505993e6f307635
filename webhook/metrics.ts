import { Counter, Histogram, type Registry } from "prom-client";
import type { AdmissionAnswer } from "../src/admission/review.js";
import { metricsRegistry } from "../server/metrics.js";

/** The webhook's Prometheus metrics (prom-client): decisions, rejected bodies, latency. */

const BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

export class Metrics {
  readonly registry: Registry = metricsRegistry();
  private readonly decisions = new Counter({
    name: "otter_egress_admission_decisions_total",
    help: "Admission decisions by result, the namespace's gate mode, and whether the request was a dry run.",
    labelNames: ["result", "mode", "dry_run"],
    registers: [this.registry],
  });
  private readonly findings = new Counter({
    name: "otter_egress_admission_findings_total",
    help: "Findings that failed a check, by verdict and mode.",
    labelNames: ["verdict", "mode"],
    registers: [this.registry],
  });
  private readonly rejects = new Counter({
    name: "otter_egress_admission_rejected_total",
    help: "Request bodies refused before a decision.",
    labelNames: ["reason"],
    registers: [this.registry],
  });
  private readonly internalErrors = new Counter({
    name: "otter_egress_admission_internal_errors_total",
    help: "Reviews answered with an internal error (a bug in or after the decision): answered by the failure policy.",
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: "otter_egress_admission_duration_seconds",
    help: "Time from a review's arrival to its decision, the wait for its turn's other reviews included.",
    buckets: BUCKETS,
    registers: [this.registry],
  });

  /** `cacheFailures`: failed lists and broken watches, by cache, read when scraped. */
  constructor(cacheFailures?: () => ReadonlyMap<string, number>) {
    new Counter({
      name: "otter_egress_admission_cache_failures_total",
      help: "Failed lists and broken watches of the caches; while one relists, the webhook is not ready.",
      labelNames: ["cache"],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [cache, n] of cacheFailures?.() ?? []) this.inc({ cache }, n);
      },
    });
  }

  /** One decision; a dry run (Argo CD's server-side diff) is counted apart. */
  decided(answer: AdmissionAnswer, seconds: number, dryRun = false): void {
    const result = !answer.allowed ? "denied" : answer.warnings.length > 0 ? "warned" : "allowed";
    const mode = answer.mode ?? "none";
    this.decisions.inc({ result, mode, dry_run: String(dryRun) });
    for (const verdict of answer.failing ?? []) this.findings.inc({ verdict, mode });
    this.duration.observe(seconds);
  }

  internalError(): void {
    this.internalErrors.inc();
  }

  rejected(reason: string): void {
    this.rejects.inc({ reason });
  }
}
