import type { EgressDiff, NamespaceScope, WorkloadDiff, WorkloadRef } from "../diff.js";
import { formatDuration, formatTimestamp } from "../duration.js";
import { formatSource } from "../errors.js";
import { VERDICTS } from "../verdicts.js";
import { columns, paint, VERDICT_PAINT, type Style } from "./style.js";
import { targetLabel, targetPorts } from "./target-label.js";

/** The table a person reads first: grouped by workload, a summary line, and how to fix. */

export function workloadTitle(w: WorkloadRef): string {
  return `${w.namespace}/${w.name}${w.kind ? ` (${w.kind})` : ""}`;
}

export function summaryLine(diff: EgressDiff): string {
  const s = diff.summary;
  const parts = VERDICTS.map((v) => `${s[v]} ${v}`);
  const noun = s.workloads === 1 ? "workload" : "workloads";
  return `${s.workloads} ${noun}: ${parts.join(", ")} (window ${formatDuration(diff.windowMs)}, now ${formatTimestamp(diff.now)})`;
}

function workloadBlock(w: WorkloadDiff, style: Style): string[] {
  const intents = w.intents ? `intents ${formatSource(w.intents)}` : "no ClientIntents";
  const lines = [
    `${paint(style, "bold", workloadTitle(w.workload))}  ${paint(style, "dim", intents)}`,
  ];
  if (w.findings.length === 0) {
    lines.push("  nothing declared, nothing observed");
    return lines;
  }
  const rows = [["VERDICT", "TARGET", "PORTS", "LAST SEEN", "SOURCE", "REASON"]];
  for (const f of w.findings) {
    rows.push([
      paint(style, VERDICT_PAINT[f.verdict], f.verdict),
      targetLabel(f.target),
      targetPorts(f.target),
      f.lastSeen === undefined ? "-" : formatTimestamp(f.lastSeen),
      f.source ? formatSource(f.source) : "-",
      f.reason,
    ]);
  }
  lines.push(...columns(rows, "  "));
  return lines;
}

/** What an empty diff says, naming where it looked (as kubectl's "No resources found in …"). */
export function nothingFound(scope: NamespaceScope): string {
  if (scope.all)
    return "No workloads found: no ClientIntents and no observed egress in any namespace.";
  const names = scope.names.join(", ");
  const where = scope.names.length === 1 ? `${names} namespace` : `namespaces ${names}`;
  return `No workloads found in ${where}: no ClientIntents and no observed egress there.`;
}

export function renderDiffTable(
  diff: EgressDiff,
  style: Style,
  hints: readonly string[],
  scope: NamespaceScope = { all: true },
): string {
  const out: string[] = [];
  if (diff.workloads.length === 0) out.push(nothingFound(scope));
  for (const w of diff.workloads) {
    out.push(...workloadBlock(w, style), "");
  }
  out.push(summaryLine(diff));
  for (const hint of hints) out.push(paint(style, "dim", hint));
  return out.join("\n") + "\n";
}
