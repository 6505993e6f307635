import test from "ava";
import type { WorkloadDiff } from "../../src/diff.js";
import { workloadFlowchart, MAX_DRAWN_FINDINGS } from "../../src/render/mermaid.js";
import type { Finding } from "../../src/verdicts.js";
import { EXAMPLE_INPUTS, runCli } from "../helpers/cli.js";
import { renderMermaid } from "../helpers/mermaid-render.js";

/** The Mermaid charts of `-o markdown`, rendered by the real Mermaid library in chromium. */

function blocks(markdown: string): string[] {
  return [...markdown.matchAll(/```mermaid\n([\s\S]*?)\n```/g)].map((m) => m[1] as string);
}

const odd: WorkloadDiff = {
  workload: { namespace: "team-a", name: 'we"ird#name', kind: "Deployment" },
  findings: [
    {
      verdict: "missing",
      code: "ObservedNotDeclared",
      target: { internet: { domains: ["xn--bcher-kva.example"], ports: [443, 8443] } },
      reason: "r",
    },
    {
      verdict: "missing",
      code: "ObservedNotDeclared",
      target: { internet: { ips: ["2001:db8::1"] } },
      reason: "r",
    },
    {
      verdict: "unnecessary",
      code: "NotUsedInWindow",
      target: { internet: { domains: ["*.cdn.example.com"] } },
      reason: "r",
    },
    {
      verdict: "unverified",
      code: "DeclaredLessThanWindow",
      target: { kubernetes: { name: "end.team-a", kind: "StatefulSet" } },
      reason: "r",
    },
    {
      verdict: "matched",
      code: "DeclaredAndUsed",
      target: { service: { name: "graph.team-b" } },
      reason: "r",
    },
    {
      verdict: "n/a",
      code: "NotNetworkEgress",
      target: { aws: { arn: "arn:aws:s3:::bucket<1>&`x`" } },
      reason: "r",
    },
  ] satisfies Finding[],
};

test("the Mermaid charts of the example and of awkward names render without error", async (t) => {
  const r = await runCli(["egress", "diff", ...EXAMPLE_INPUTS, "-o", "markdown"]);
  const charts = [...blocks(r.stdout), workloadFlowchart(odd) as string];
  t.is(charts.length, 3);
  const results = await renderMermaid(charts);
  results.forEach((res, i) =>
    t.true(res.ok, `chart ${i}: ${res.ok ? "" : res.error}\n${charts[i]}`),
  );
  const [server, worker, awkward] = results.map((res) => (res.ok ? res.svg : ""));
  t.regex(server as string, /dev\/joke-server \(Deployment\)/);
  t.regex(worker as string, /sts\.eu-west-2\.amazonaws\.com/);
  t.regex(worker as string, /missing · 443/);
  // The missing edge is drawn in red, the unnecessary one in amber.
  t.regex(worker as string, /stroke:#cf222e/);
  t.regex(worker as string, /stroke:#bf8700/);
  t.regex(awkward as string, /we"ird#name|we&quot;ird#name/);
  t.regex(awkward as string, /\*\.cdn\.example\.com/);
});

test("a workload with too many findings gets no chart rather than one Mermaid refuses", (t) => {
  const many: WorkloadDiff = {
    workload: { namespace: "dev", name: "crawler" },
    findings: Array.from({ length: MAX_DRAWN_FINDINGS + 1 }, (_, i) => ({
      verdict: "missing" as const,
      code: "ObservedNotDeclared",
      target: { internet: { domains: [`site${i}.example.com`] } },
      reason: "observed but not declared",
    })),
  };
  t.is(workloadFlowchart(many), undefined);
  t.truthy(workloadFlowchart({ ...many, findings: many.findings.slice(1) }));
});
