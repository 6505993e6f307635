import type { WorkloadDiff } from "../diff.js";
import type { Verdict } from "../verdicts.js";
import { workloadTitle } from "./diff-table.js";
import { targetLabel } from "./target-label.js";

/**
 * A Mermaid flowchart of one workload's egress: the workload, each destination or declared
 * target, and an edge per finding, coloured and drawn by verdict (missing thick red, unnecessary
 * dashed amber, unverified dashed blue, matched green, n/a dotted grey).
 */

/** Above this many findings a drawing helps nobody (and Mermaid refuses very large charts). */
export const MAX_DRAWN_FINDINGS = 60;

export const VERDICT_COLOR: Record<Verdict, string> = {
  missing: "#cf222e",
  unnecessary: "#bf8700",
  unverified: "#0969da",
  matched: "#1a7f37",
  "n/a": "#8c959f",
};

const ARROW: Record<Verdict, string> = {
  missing: "==>",
  unnecessary: "-.->",
  unverified: "-.->",
  matched: "-->",
  "n/a": "-.->",
};

/** Text inside a quoted Mermaid label: characters Mermaid reads as syntax become entities. */
export function mermaidText(s: string): string {
  return s
    .replace(/#/g, "#35;")
    .replace(/"/g, "#quot;")
    .replace(/</g, "#lt;")
    .replace(/>/g, "#gt;")
    .replace(/`/g, "#96;")
    .replace(/[\r\n]+/g, " ");
}

function edgeLabel(f: WorkloadDiff["findings"][number]): string {
  const ports = "internet" in f.target ? (f.target.internet.ports ?? []) : [];
  return ports.length > 0 ? `${f.verdict} · ${ports.join(",")}` : f.verdict;
}

/** The flowchart's source, or undefined when there is nothing (or too much) to draw. */
export function workloadFlowchart(w: WorkloadDiff): string | undefined {
  if (w.findings.length === 0 || w.findings.length > MAX_DRAWN_FINDINGS) return undefined;
  const lines = ["flowchart LR", `  w["${mermaidText(workloadTitle(w.workload))}"]:::workload`];
  const nodes = new Map<string, string>();
  const edgesByVerdict = new Map<Verdict, number[]>();
  w.findings.forEach((f, edge) => {
    const label = targetLabel(f.target);
    let id = nodes.get(label);
    if (id === undefined) {
      id = `t${nodes.size}`;
      nodes.set(label, id);
      lines.push(`  ${id}["${mermaidText(label)}"]`);
    }
    lines.push(`  w ${ARROW[f.verdict]}|"${mermaidText(edgeLabel(f))}"| ${id}`);
    const list = edgesByVerdict.get(f.verdict) ?? [];
    list.push(edge);
    edgesByVerdict.set(f.verdict, list);
  });
  lines.push("  classDef workload stroke-width:2px");
  for (const [verdict, edges] of edgesByVerdict) {
    const width = verdict === "missing" ? 3 : 2;
    lines.push(
      `  linkStyle ${edges.join(",")} stroke:${VERDICT_COLOR[verdict]},stroke-width:${width}px,color:${VERDICT_COLOR[verdict]}`,
    );
  }
  return lines.join("\n");
}
