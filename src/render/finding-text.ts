import type { WorkloadDiff } from "../diff.js";
import { formatTimestamp } from "../duration.js";
import type { Source } from "../errors.js";
import type { TargetV2 } from "../targets.js";
import type { Finding, Verdict } from "../verdicts.js";
import { workloadTitle } from "./diff-table.js";
import { targetLabel, targetWithPorts } from "./target-label.js";

/**
 * What the CI formats (GitHub annotations, SARIF, JUnit) say about one finding: its level,
 * where it points, a title and a message. One wording, so every report reads the same.
 */

/** The verdicts a CI report shows: drift, and what is not yet known to be drift. */
export const DRIFT_VERDICTS = ["missing", "unnecessary", "unverified"] as const;
export type DriftVerdict = (typeof DRIFT_VERDICTS)[number];

export function isDrift(v: Verdict): v is DriftVerdict {
  return (DRIFT_VERDICTS as readonly string[]).includes(v);
}

/** error when the verdict fails the check (--fail-on), warning otherwise. */
export type Level = "error" | "warning";

export function findingLevel(f: Finding, failOn: ReadonlySet<Verdict>): Level {
  return failOn.has(f.verdict) ? "error" : "warning";
}

/**
 * Where a finding points: a missing target at the workload's ClientIntents (where it is to be
 * added), a declared one at the target itself. Undefined when no file (and line) holds it.
 */
export function findingLocation(w: WorkloadDiff, f: Finding): Source | undefined {
  const at = f.verdict === "missing" ? w.intents : f.source;
  // Objects read from the cluster have a name, not a file and line: no place in the repository.
  return at?.line === undefined || at.file === "<stdin>" ? undefined : at;
}

function plainScalar(s: string): string {
  return /^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(s) ? s : JSON.stringify(s);
}

function flowValue(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(flowValue).join(", ")}]`;
  if (typeof v === "object" && v !== null) {
    const parts = Object.entries(v).map(([k, x]) => `${k}: ${flowValue(x)}`);
    return `{${parts.join(", ")}}`;
  }
  return typeof v === "string" ? plainScalar(v) : String(v);
}

/** A target as one line of YAML flow style, ready to paste under `targets:`. */
export function flowTarget(t: TargetV2): string {
  return flowValue(t);
}

const TITLE: Record<DriftVerdict, string> = {
  missing: "Egress missing from ClientIntents",
  unnecessary: "Unnecessary egress in ClientIntents",
  unverified: "Declared egress not yet verified",
};

export function findingTitle(f: Finding & { verdict: DriftVerdict }): string {
  return `${TITLE[f.verdict]}: ${targetLabel(f.target)}`;
}

export function findingMessage(w: WorkloadDiff, f: Finding & { verdict: DriftVerdict }): string {
  const who = workloadTitle(w.workload);
  const what = targetWithPorts(f.target);
  switch (f.verdict) {
    case "missing": {
      const seen = f.lastSeen === undefined ? "" : `, last seen ${formatTimestamp(f.lastSeen)}`;
      const where = w.intents ? "its ClientIntents do not declare" : "no ClientIntents declares";
      return `${who} calls ${what}${seen}, which ${where}; enforcing the intents would break this call. Add the target: ${flowTarget(f.target)}`;
    }
    case "unnecessary":
      return `${who} declares ${what} but does not use it (${f.reason}). Remove it to drop the excess privilege.`;
    case "unverified":
      return `${who} declares ${what}, not yet verified (${f.reason}).`;
  }
}

export interface DriftFinding {
  readonly workload: WorkloadDiff;
  readonly finding: Finding & { verdict: DriftVerdict };
}

/** Every drift finding of a diff, in report order. */
export function* driftFindings(workloads: readonly WorkloadDiff[]): Generator<DriftFinding> {
  for (const w of workloads) {
    for (const f of w.findings) {
      if (isDrift(f.verdict)) {
        yield { workload: w, finding: f as Finding & { verdict: DriftVerdict } };
      }
    }
  }
}
