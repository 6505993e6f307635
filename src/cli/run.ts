import type { ClientIntents } from "../client-intents.js";
import {
  diffEgress,
  hasFailingFindings,
  type DiffInput,
  type EgressDiff,
  type NamespaceScope,
  type WorkloadScope,
} from "../diff.js";
import { InputError } from "../errors.js";
import type { ObservedWorkload } from "../observed-egress.js";
import { diffReport, diffReportParts } from "../report.js";
import { renderDiffMarkdown } from "../render/diff-markdown.js";
import { renderDiffTable } from "../render/diff-table.js";
import { renderGithub } from "../render/github.js";
import { renderJunit } from "../render/junit.js";
import { sarifLog } from "../render/sarif.js";
import { renderList, listReport } from "../render/list.js";
import {
  jsonWithStreamedArray,
  renderJson,
  renderYaml,
  renderYamlStream,
} from "../render/serialize.js";
import type { Style } from "../render/style.js";
import { observedWorkloads, suggestIntents } from "../suggest.js";
import type { Listening } from "../verdicts.js";
import type { FileChange } from "../fix/plan.js";
import { VERSION } from "../version.js";
import { runFix, type FixContext } from "./fix.js";
import { shellQuote } from "../shell-quote.js";
import { formatDuration, formatTimestamp, parseDuration } from "../duration.js";
import { DEFAULT_NAMESPACE, DEFAULT_WINDOW } from "./defaults.js";
import type { Invocation } from "./invocation.js";

/**
 * Decide and render: from gathered inputs to the text on stdout and the exit code.
 * Nothing here reads files, the cluster or the clock.
 */

export interface Gathered {
  readonly intents: readonly ClientIntents[];
  /** Which workloads are judged (files: those they declare; the cluster: every one). */
  readonly workloadScope: WorkloadScope;
  readonly observed: readonly ObservedWorkload[];
  readonly listening: Listening;
  readonly now: number;
  readonly namespaces: NamespaceScope;
  /** --base: the target branch's intents. */
  readonly base?: readonly ClientIntents[];
  /** --fix: the files to edit, and where new ones go. */
  readonly fix?: FixContext;
  /** What reading the inputs skipped, for stderr. */
  readonly warnings?: readonly string[];
}

export interface Outcome {
  /** What to write, in pieces: a big JSON report is produced one workload at a time. */
  readonly stdout: Iterable<string>;
  readonly exitCode: 0 | 1;
  /** Markdown for a CI job's summary page (`-o github`: appended to $GITHUB_STEP_SUMMARY). */
  readonly stepSummary?: string;
  /** Lines for stderr (warnings). */
  readonly stderr?: readonly string[];
  /** Files to write (--fix): all of them, or none when any write would fail. */
  readonly writes?: readonly FileChange[];
}

/**
 * The namespaces a command looks at: -A, -n, or else the context's namespace; offline
 * (both inputs from files) it is everything the files hold.
 */
export function namespaceScope(
  inv: Invocation,
  offline: boolean,
  contextNamespace: string | undefined,
): NamespaceScope {
  if (inv.kube.allNamespaces) return { all: true };
  if (inv.kube.namespace !== undefined) return { all: false, names: [inv.kube.namespace] };
  if (offline) return { all: true };
  return { all: false, names: [contextNamespace ?? "default"] };
}

/**
 * A diff of intents files looks at the namespaces those files declare (unless -n or -A
 * says otherwise): their observations are the ones to read from a cluster.
 */
export function filesScope(
  inv: Invocation,
  scope: NamespaceScope,
  intents: readonly ClientIntents[],
): NamespaceScope {
  if (inv.kube.allNamespaces || inv.kube.namespace !== undefined) return scope;
  return { all: false, names: [...new Set(intents.map((ci) => ci.namespace))] };
}

function inScope(scope: NamespaceScope, ns: string): boolean {
  return scope.all || scope.names.includes(ns);
}

const DEFAULT_WINDOW_MS = parseDuration(DEFAULT_WINDOW);

/**
 * The flags that chose this run's inputs and judgement, to repeat in a hinted command so that
 * it reproduces the run: the snapshot (stdin included: pipe it again), the window and time, the
 * namespaces, and the cluster to read.
 */
function sameInputs(inv: Invocation, namespace?: string): string[] {
  const flag = (name: string, value: string) => [`--${name}`, shellQuote(value)];
  const k = inv.kube;
  return [
    ...(namespace !== undefined ? ["-n", shellQuote(namespace)] : []),
    ...(namespace === undefined && k.allNamespaces ? ["-A"] : []),
    ...(namespace === undefined && k.namespace !== undefined
      ? ["-n", shellQuote(k.namespace)]
      : []),
    ...(inv.observed !== undefined ? flag("observed", inv.observed) : []),
    ...(inv.windowMs !== DEFAULT_WINDOW_MS ? flag("window", formatDuration(inv.windowMs)) : []),
    ...(inv.now !== undefined ? flag("now", formatTimestamp(inv.now)) : []),
    ...(k.kubeconfig !== undefined ? flag("kubeconfig", k.kubeconfig) : []),
    ...(k.context !== undefined ? flag("context", k.context) : []),
    ...(inv.collectorNamespace !== DEFAULT_NAMESPACE
      ? flag("collector-namespace", inv.collectorNamespace)
      : []),
  ];
}

function fixHints(inv: Invocation, diff: EgressDiff): string[] {
  const failing = diff.workloads.filter((w) =>
    w.findings.some((f) => f.verdict === "missing" || f.verdict === "unnecessary"),
  );
  if (failing.length === 0) return [];
  const files = inv.intents.filter((p) => p !== "-");
  const fixFlags = [
    ...files.flatMap((p) => ["--intents", shellQuote(p)]),
    ...inv.base.flatMap((p) => ["--base", shellQuote(p)]),
    ...(inv.includeUndeclared ? ["--include-undeclared"] : []),
    ...sameInputs(inv),
  ];
  const fix =
    files.length > 0 && files.length === inv.intents.length
      ? [
          "Or let --fix change the files (see the change first with --dry-run):",
          `  kubectl otter egress diff ${fixFlags.join(" ")} --fix --dry-run`,
        ]
      : [];
  return [
    "To write intents that match what was observed:",
    ...failing.map((w) =>
      [
        "  kubectl otter egress suggest",
        ...sameInputs(
          { ...inv, kube: { ...inv.kube, allNamespaces: false } },
          w.workload.namespace,
        ),
        shellQuote(w.workload.name),
      ].join(" "),
    ),
    ...fix,
  ];
}

/** The engine's input for a diff of gathered data. */
export function diffInput(inv: Invocation, data: Gathered): DiffInput {
  return {
    intents: data.intents,
    workloadScope: data.workloadScope,
    observed: data.observed,
    namespaces: data.namespaces,
    includeUndeclared: inv.includeUndeclared,
    now: data.now,
    windowMs: inv.windowMs,
    listening: data.listening,
    ...(data.base ? { base: data.base } : {}),
    // JSON is written one workload at a time: their findings need not all be held at once.
    findingsWhenRead: inv.output === "json" && !inv.fix,
  };
}

export function runDiff(inv: Invocation, data: Gathered, style: Style): Outcome {
  const input = diffInput(inv, data);
  if (inv.fix) {
    if (!data.fix) throw new Error("internal error: --fix without the files to edit");
    const fixed = runFix(input, data.fix, { dryRun: inv.dryRun, failOn: inv.failOn });
    return {
      stdout: [fixed.stdout],
      exitCode: fixed.exitCode,
      stderr: fixed.stderr,
      writes: fixed.writes,
    };
  }
  const diff = diffEgress(input);
  const exitCode = hasFailingFindings(diff, inv.failOn) ? 1 : 0;
  switch (inv.output) {
    case "json": {
      const { head, workloads } = diffReportParts(diff);
      return { stdout: jsonWithStreamedArray(head, "workloads", workloads), exitCode };
    }
    case "yaml":
      return { stdout: [renderYaml(diffReport(diff))], exitCode };
    case "markdown":
      return { stdout: [renderDiffMarkdown(diff, fixHints(inv, diff))], exitCode };
    case "github":
      return {
        stdout: [renderGithub(diff, inv.failOn)],
        exitCode,
        stepSummary: renderDiffMarkdown(diff, fixHints(inv, diff)),
      };
    case "sarif":
      return { stdout: [renderJson(sarifLog(diff, inv.failOn, VERSION))], exitCode };
    case "junit":
      return { stdout: [renderJunit(diff, inv.failOn)], exitCode };
    default:
      return {
        stdout: [
          renderDiffTable(
            diff,
            { ...style, wide: inv.output === "wide" },
            fixHints(inv, diff),
            data.namespaces,
          ),
        ],
        exitCode,
      };
  }
}

export function runSuggest(inv: Invocation, data: Gathered): Outcome {
  const chosen = observedWorkloads(data.observed).filter(
    (w) =>
      inScope(data.namespaces, w.workload.namespace) &&
      (inv.workload === undefined || w.workload.name === inv.workload),
  );
  if (chosen.length === 0) {
    const what = inv.workload === undefined ? "any workload" : `workload "${inv.workload}"`;
    const where = data.namespaces.all
      ? "any namespace"
      : `namespace ${data.namespaces.names.join(", ")}`;
    throw new InputError(`no observed egress for ${what} in ${where}`);
  }
  const docs = chosen.map((w) =>
    suggestIntents(w, { now: data.now, windowMs: inv.windowMs, apiVersion: inv.apiVersion }),
  );
  if (inv.output === "json") {
    const body = docs.length === 1 ? docs[0] : { apiVersion: "v1", kind: "List", items: docs };
    return { stdout: [renderJson(body)], exitCode: 0 };
  }
  return { stdout: [renderYamlStream(docs)], exitCode: 0 };
}

export function runList(inv: Invocation, data: Gathered, style: Style): Outcome {
  const chosen = observedWorkloads(data.observed).filter(
    (w) =>
      inScope(data.namespaces, w.workload.namespace) &&
      (inv.workload === undefined || w.workload.name === inv.workload),
  );
  const opts = { now: data.now, windowMs: inv.windowMs };
  switch (inv.output) {
    case "json":
      return { stdout: [renderJson(listReport(chosen, opts))], exitCode: 0 };
    case "yaml":
      return { stdout: [renderYaml(listReport(chosen, opts))], exitCode: 0 };
    default: {
      // As kubectl: the NAMESPACE column only when more than one namespace is looked at.
      const oneNamespace = !data.namespaces.all && data.namespaces.names.length === 1;
      const table = { ...style, wide: inv.output === "wide" };
      return { stdout: [renderList(chosen, opts, table, !oneNamespace)], exitCode: 0 };
    }
  }
}

function decide(inv: Invocation, data: Gathered, style: Style): Outcome {
  switch (inv.command) {
    case "diff":
      return runDiff(inv, data, style);
    case "suggest":
      return runSuggest(inv, data);
    case "list":
      return runList(inv, data, style);
  }
}

export function runCommand(inv: Invocation, data: Gathered, style: Style): Outcome {
  const outcome = decide(inv, data, style);
  const warnings = (data.warnings ?? []).map((w) => `warning: ${w}`);
  return warnings.length === 0
    ? outcome
    : { ...outcome, stderr: [...warnings, ...(outcome.stderr ?? [])] };
}
