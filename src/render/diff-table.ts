import type { EgressDiff, NamespaceScope, WorkloadDiff, WorkloadRef } from "../diff.js";
import { formatDuration, formatTimestamp, humanAge } from "../duration.js";
import { formatSource, type Source } from "../errors.js";
import { VERDICTS } from "../verdicts.js";
import { fitColumns, paint, shorten, VERDICT_PAINT, type Style } from "./style.js";
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

/** The summary in two lines of at most 80 columns: the counts, then the window and time. */
function summaryLines(diff: EgressDiff): string[] {
  const s = diff.summary;
  const noun = s.workloads === 1 ? "workload" : "workloads";
  return [
    `${s.workloads} ${noun}: ${VERDICTS.map((v) => `${s[v]} ${v}`).join(", ")}`,
    `Window ${formatDuration(diff.windowMs)}, as of ${formatTimestamp(diff.now)}; -o wide says why.`,
  ];
}

/**
 * Where a finding's target is written. The default table names the line of the intents file
 * its header shows ("28"), or the file's name and line for another file; -o wide the path.
 */
function sourceCell(source: Source | undefined, intents: Source | undefined, style: Style): string {
  if (!source) return "-";
  if (style.wide) return formatSource(source);
  if (intents && source.file === intents.file && source.line !== undefined) return `${source.line}`;
  const name = source.file.split("/").pop() ?? source.file;
  return source.line === undefined ? name : `${name}:${source.line}`;
}

function workloadBlock(w: WorkloadDiff, style: Style, now: number): string[] {
  const width = style.wide ? undefined : (style.width ?? 80);
  const intents = w.intents ? `intents ${formatSource(w.intents)}` : "no ClientIntents";
  const title = workloadTitle(w.workload);
  const room = width === undefined ? Infinity : Math.max(20, width - title.length - 2);
  const lines = [
    `${paint(style, "bold", title)}  ${paint(style, "dim", shorten(intents, room, "middle"))}`,
  ];
  if (w.findings.length === 0) {
    lines.push("  nothing declared, nothing observed");
    return lines;
  }
  // The default fits 80 columns: the reason, the path and the time are -o wide's.
  const rows = [
    style.wide
      ? ["VERDICT", "TARGET", "PORTS", "LAST SEEN", "SOURCE", "REASON"]
      : ["VERDICT", "TARGET", "PORTS", "LAST SEEN", "LINE"],
  ];
  for (const f of w.findings) {
    const seen =
      f.lastSeen === undefined
        ? "-"
        : style.wide
          ? formatTimestamp(f.lastSeen)
          : humanAge(now - f.lastSeen);
    rows.push([
      f.verdict,
      targetLabel(f.target),
      targetPorts(f.target),
      seen,
      sourceCell(f.source, w.intents, style),
      ...(style.wide ? [f.reason] : []),
    ]);
  }
  // A target too long for the width is cut in the middle (-o wide: nothing is).
  const laid = fitColumns(rows, width, { column: 1, min: 24, where: "middle" }, "  ");
  // Colour after laying out (the verdict leads each row, never cut), so that cutting never
  // splits an escape code.
  lines.push(
    laid[0] as string,
    ...laid.slice(1).map((line, i) => {
      const verdict = (w.findings[i] as (typeof w.findings)[number]).verdict;
      return `  ${paint(style, VERDICT_PAINT[verdict], verdict)}${line.slice(2 + verdict.length)}`;
    }),
  );
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
    out.push(...workloadBlock(w, style, diff.now), "");
  }
  out.push(...(style.wide ? [summaryLine(diff)] : summaryLines(diff)));
  for (const hint of hints) out.push(paint(style, "dim", hint));
  return out.join("\n") + "\n";
}
