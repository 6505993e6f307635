import type { EgressDiff, WorkloadDiff } from "../diff.js";
import { formatDuration, formatTimestamp } from "../duration.js";
import type { Verdict } from "../verdicts.js";
import { workloadTitle } from "./diff-table.js";
import { annotationPath } from "./github.js";
import {
  DRIFT_VERDICTS,
  driftFindings,
  findingLevel,
  findingLocation,
  findingMessage,
  type DriftVerdict,
} from "./finding-text.js";

/**
 * `-o sarif`: SARIF 2.1.0, one rule per drift verdict, results located in the intents files
 * (relative to the repository root, `%SRCROOT%`), for GitHub code scanning and other viewers.
 */

export const SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json";

interface Rule {
  readonly id: string;
  readonly name: string;
  readonly short: string;
  readonly full: string;
  /** What to do about it. */
  readonly help: string;
  readonly level: "error" | "warning";
}

const RULES: Record<DriftVerdict, Rule> = {
  missing: {
    id: "egress-missing",
    name: "MissingEgressIntent",
    short: "Observed egress that the workload's ClientIntents do not declare",
    full: "The workload was observed calling this destination within the window, and no declared target covers it (or not on this port). Once the intents are enforced, this call is blocked. Add the target to the workload's ClientIntents.",
    help: "Add the target to the workload's ClientIntents. `kubectl otter egress diff --intents PATH --observed SNAPSHOT --fix` writes it into the file (`--fix --dry-run` shows the change first).",
    level: "error",
  },
  unnecessary: {
    id: "egress-unnecessary",
    name: "UnnecessaryEgressIntent",
    short: "Declared egress that the workload never used within the window",
    full: "The target has been declared for at least the window, the workload has been observed for at least the window, and it never called the target in that time: the permission is excess privilege. Remove the target.",
    help: "Remove the target from the ClientIntents. `kubectl otter egress diff --intents PATH --observed SNAPSHOT --fix` removes it (`--fix --dry-run` shows the change first).",
    level: "error",
  },
  unverified: {
    id: "egress-unverified",
    name: "UnverifiedEgressIntent",
    short: "Declared egress not used yet, with too little evidence to call it unnecessary",
    full: "The target was not used within the window, but it was declared recently, the workload has not been observed for a whole window, or the collector has stopped reporting. It is reported as a warning until the evidence covers the window.",
    help: "Nothing to do yet. Once the target has been declared, and the workload observed, for a whole window, it is judged again: matched if it was used, unnecessary if not.",
    level: "warning",
  },
};

function uriOf(file: string): string {
  return annotationPath(file).split("/").map(encodeURIComponent).join("/");
}

function fingerprint(w: WorkloadDiff, verdict: Verdict, target: unknown): string {
  const ref = w.workload;
  return `${ref.namespace}/${ref.name}/${ref.kind ?? ""}|${verdict}|${JSON.stringify(target)}`;
}

export function sarifLog(
  diff: EgressDiff,
  failOn: ReadonlySet<Verdict>,
  toolVersion: string,
): Record<string, unknown> {
  const results: unknown[] = [];
  for (const { workload, finding } of driftFindings(diff.workloads)) {
    const at = findingLocation(workload, finding);
    const located = at !== undefined;
    results.push({
      ruleId: RULES[finding.verdict].id,
      ruleIndex: DRIFT_VERDICTS.indexOf(finding.verdict),
      level: findingLevel(finding, failOn),
      message: { text: findingMessage(workload, finding) },
      locations: [
        {
          ...(located
            ? {
                physicalLocation: {
                  artifactLocation: { uri: uriOf(at.file), uriBaseId: "%SRCROOT%" },
                  ...(at.line !== undefined ? { region: { startLine: at.line } } : {}),
                },
              }
            : {}),
          logicalLocations: [
            { fullyQualifiedName: workloadTitle(workload.workload), kind: "module" },
          ],
        },
      ],
      partialFingerprints: {
        "otterEgressFinding/v1": fingerprint(workload, finding.verdict, finding.target),
      },
      properties: {
        workload: workload.workload,
        target: finding.target,
        reason: finding.reason,
        ...(finding.lastSeen === undefined ? {} : { lastSeen: formatTimestamp(finding.lastSeen) }),
      },
    });
  }
  return {
    $schema: SARIF_SCHEMA,
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: "kubectl-otter",
            fullName: "kubectl otter egress diff",
            version: toolVersion,
            semanticVersion: toolVersion,
            rules: DRIFT_VERDICTS.map((v) => {
              const r = RULES[v];
              return {
                id: r.id,
                name: r.name,
                shortDescription: { text: r.short },
                fullDescription: { text: r.full },
                help: { text: r.help, markdown: r.help },
                defaultConfiguration: { level: r.level },
                properties: { tags: ["kubernetes", "egress", "otterize"], verdict: v },
              };
            }),
          },
        },
        columnKind: "utf16CodeUnits",
        properties: {
          window: formatDuration(diff.windowMs),
          now: formatTimestamp(diff.now),
          summary: diff.summary,
        },
        results,
      },
    ],
  };
}
