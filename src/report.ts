import type { EgressDiff, WorkloadRef } from "./diff.js";
import { formatDuration, formatTimestamp } from "./duration.js";
import { plainSource, type Source } from "./errors.js";
import type { TargetV2 } from "./targets.js";
import type { Finding, ReasonCode, Verdict } from "./verdicts.js";

/**
 * The EgressDiff as the machine contract writes it (`-o json` / `-o yaml`): see DESIGN.
 */

export interface FindingReport {
  verdict: Verdict;
  target: TargetV2;
  /** Stable: what scripts match on. */
  code: ReasonCode;
  reason: string;
  lastSeen?: string;
  source?: Source;
}

export interface EgressDiffReport {
  apiVersion: "egress.otter.dev/v1alpha1";
  kind: "EgressDiff";
  window: string;
  now: string;
  summary: {
    workloads: number;
    matched: number;
    missing: number;
    unnecessary: number;
    unverified: number;
    "n/a": number;
  };
  workloads: Array<{
    workload: WorkloadRef;
    intents?: Source;
    findings: FindingReport[];
  }>;
}

export function findingReport(f: Finding): FindingReport {
  return {
    verdict: f.verdict,
    target: f.target,
    code: f.code,
    reason: f.reason,
    ...(f.lastSeen === undefined ? {} : { lastSeen: formatTimestamp(f.lastSeen) }),
    ...(f.source ? { source: plainSource(f.source) } : {}),
  };
}

function workloadReport(w: EgressDiff["workloads"][number]): EgressDiffReport["workloads"][number] {
  return {
    workload: w.workload,
    ...(w.intents ? { intents: plainSource(w.intents) } : {}),
    findings: w.findings.map(findingReport),
  };
}

/** The report without its workloads, and its workloads built one at a time (for streaming). */
export function diffReportParts(diff: EgressDiff) {
  // The summary comes from diff.summary, so an empty workload list leaves it intact.
  const { workloads: _none, ...head } = diffReport({ ...diff, workloads: [] });
  function* workloads() {
    for (const w of diff.workloads) yield workloadReport(w);
  }
  return { head, workloads: workloads() };
}

export function diffReport(diff: EgressDiff): EgressDiffReport {
  const s = diff.summary;
  return {
    apiVersion: "egress.otter.dev/v1alpha1",
    kind: "EgressDiff",
    window: formatDuration(diff.windowMs),
    now: formatTimestamp(diff.now),
    summary: {
      workloads: s.workloads,
      matched: s.matched,
      missing: s.missing,
      unnecessary: s.unnecessary,
      unverified: s.unverified,
      "n/a": s["n/a"],
    },
    workloads: diff.workloads.map(workloadReport),
  };
}
