import type { EgressDiff } from "../diff.js";
import { formatSource } from "../errors.js";
import { formatTimestamp } from "../duration.js";
import { workloadTitle, summaryLine } from "./diff-table.js";
import { workloadFlowchart, MAX_DRAWN_FINDINGS } from "./mermaid.js";
import { targetLabel, targetPorts } from "./target-label.js";

/**
 * A Markdown report, for a pull-request comment or a job summary: per workload, a Mermaid
 * picture of its egress coloured by verdict, then the findings as a table.
 */

const ICON: Record<string, string> = {
  missing: "🔴",
  unnecessary: "🟡",
  unverified: "🔵",
  matched: "🟢",
  "n/a": "⚪",
};

const LEGEND =
  "Edges: thick red = missing (observed, not declared), dashed amber = unnecessary (declared, unused), dashed blue = unverified, green = matched, dashed grey = n/a.";

/** A code span in a table cell; a name holding backticks gets a longer fence. */
function code(text: string): string {
  const fence = "`".repeat(Math.max(0, ...(text.match(/`+/g) ?? []).map((m) => m.length)) + 1);
  const pad = text.startsWith("`") || text.endsWith("`") ? " " : "";
  return `${fence}${pad}${cell(text)}${pad}${fence}`;
}

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** Hints as Markdown: their sentences as paragraphs, their indented commands as shell blocks. */
function hintBlocks(hints: readonly string[]): string[] {
  const out: string[] = [];
  let commands: string[] = [];
  const flush = () => {
    if (commands.length > 0) out.push("```sh", ...commands, "```", "");
    commands = [];
  };
  for (const h of hints) {
    if (h.startsWith("  ")) commands.push(h.trim());
    else {
      flush();
      out.push(h, "");
    }
  }
  flush();
  return out;
}

export function renderDiffMarkdown(diff: EgressDiff, hints: readonly string[]): string {
  const out = ["## Egress drift", "", summaryLine(diff), "", LEGEND, ""];
  for (const w of diff.workloads) {
    out.push(`### ${code(workloadTitle(w.workload))}`, "");
    out.push(
      w.intents ? `ClientIntents: ${code(formatSource(w.intents))}` : "No ClientIntents.",
      "",
    );
    if (w.findings.length === 0) {
      out.push("Nothing declared, nothing observed.", "");
      continue;
    }
    const chart = workloadFlowchart(w);
    if (chart !== undefined) out.push("```mermaid", chart, "```", "");
    else
      out.push(
        `_${w.findings.length} findings: too many to draw (limit ${MAX_DRAWN_FINDINGS})._`,
        "",
      );
    out.push("| verdict | target | ports | last seen | source | reason |");
    out.push("| --- | --- | --- | --- | --- | --- |");
    for (const f of w.findings) {
      out.push(
        `| ${ICON[f.verdict]} ${f.verdict} | ${code(targetLabel(f.target))} | ${targetPorts(f.target)} | ${
          f.lastSeen === undefined ? "-" : formatTimestamp(f.lastSeen)
        } | ${f.source ? code(formatSource(f.source)) : "-"} | ${cell(f.reason)} |`,
      );
    }
    out.push("");
  }
  out.push(...hintBlocks(hints));
  return out.join("\n");
}
