import type { EgressDiff, WorkloadDiff } from "../diff.js";
import { formatDuration, formatTimestamp } from "../duration.js";
import { formatSource } from "../errors.js";
import type { Verdict } from "../verdicts.js";
import { workloadTitle } from "./diff-table.js";
import { isDrift } from "./finding-text.js";
import { targetWithPorts } from "./target-label.js";

/**
 * `-o junit`: JUnit XML as CI systems read it (GitLab, Jenkins, Azure Pipelines). One test
 * suite per namespace, one test case per workload; a workload with failing findings (--fail-on)
 * fails, and its failure lists every finding; the other drift is written to system-out.
 */

/** XML text: the five predefined entities escaped, characters XML 1.0 forbids dropped. */
export function xmlText(s: string): string {
  return s
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

function attrs(values: Record<string, string | number>): string {
  return Object.entries(values)
    .map(([k, v]) => ` ${k}="${xmlText(String(v))}"`)
    .join("");
}

function findingLine(f: WorkloadDiff["findings"][number]): string {
  const at = f.source ? ` at ${formatSource(f.source)}` : "";
  const seen = f.lastSeen === undefined ? "" : `, last seen ${formatTimestamp(f.lastSeen)}`;
  return `${f.verdict}: ${targetWithPorts(f.target)}${at}: ${f.reason}${seen}`;
}

function testCase(w: WorkloadDiff, failOn: ReadonlySet<Verdict>): string[] {
  const failing = w.findings.filter((f) => failOn.has(f.verdict));
  const other = w.findings.filter((f) => isDrift(f.verdict) && !failOn.has(f.verdict));
  const head = `    <testcase${attrs({
    classname: w.workload.namespace,
    name: workloadTitle(w.workload),
    ...(w.intents ? { file: w.intents.file } : {}),
    time: 0,
  })}`;
  if (failing.length === 0 && other.length === 0) return [`${head}/>`];
  const out = [`${head}>`];
  if (failing.length > 0) {
    const counts = [...new Set(failing.map((f) => f.verdict))]
      .map((v) => `${failing.filter((f) => f.verdict === v).length} ${v}`)
      .join(", ");
    out.push(
      `      <failure${attrs({ message: `egress drift: ${counts}`, type: "EgressDrift" })}>${xmlText(
        failing.map(findingLine).join("\n"),
      )}</failure>`,
    );
  }
  if (other.length > 0) {
    out.push(`      <system-out>${xmlText(other.map(findingLine).join("\n"))}</system-out>`);
  }
  out.push("    </testcase>");
  return out;
}

export function renderJunit(diff: EgressDiff, failOn: ReadonlySet<Verdict>): string {
  const byNamespace = new Map<string, WorkloadDiff[]>();
  for (const w of diff.workloads) {
    const list = byNamespace.get(w.workload.namespace) ?? [];
    list.push(w);
    byNamespace.set(w.workload.namespace, list);
  }
  const fails = (w: WorkloadDiff) => w.findings.some((f) => failOn.has(f.verdict));
  const failures = diff.workloads.filter(fails).length;
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${attrs({
      name: `kubectl otter egress diff (window ${formatDuration(diff.windowMs)})`,
      tests: diff.workloads.length,
      failures,
      errors: 0,
      skipped: 0,
      time: 0,
    })}>`,
  ];
  for (const [namespace, workloads] of byNamespace) {
    out.push(
      `  <testsuite${attrs({
        name: `egress ${namespace}`,
        tests: workloads.length,
        failures: workloads.filter(fails).length,
        errors: 0,
        skipped: 0,
        time: 0,
        timestamp: formatTimestamp(diff.now),
      })}>`,
    );
    for (const w of workloads) out.push(...testCase(w, failOn));
    out.push("  </testsuite>");
  }
  out.push("</testsuites>");
  return out.join("\n") + "\n";
}
