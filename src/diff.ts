import { concatAll } from "./concat.js";
import type { ClientIntents } from "./client-intents.js";
import type { Source } from "./errors.js";
import type { ObservedWorkload } from "./observed-egress.js";
import { itemKey, type DeclaredItem, type TargetV2 } from "./targets.js";
import {
  judgeWorkload,
  missingKey,
  sortFindings,
  VERDICTS,
  type Finding,
  type JudgeOptions,
  type Verdict,
} from "./verdicts.js";

/**
 * Which workloads are in scope, which ClientIntents and observations belong to each,
 * and the verdicts for all of them: the EgressDiff that every front end renders.
 */

export interface WorkloadRef {
  readonly namespace: string;
  readonly name: string;
  readonly kind?: string;
}

export interface WorkloadDiff {
  readonly workload: WorkloadRef;
  /** The first ClientIntents that declares this workload (absent: none does). */
  readonly intents?: Source;
  /** Every ClientIntents that declares it, with its version (where --fix can add targets). */
  readonly declaredIn?: ReadonlyArray<{ readonly source: Source; readonly apiVersion: string }>;
  readonly findings: readonly Finding[];
}

export type Summary = Record<Verdict, number> & { workloads: number };

export interface EgressDiff {
  readonly now: number;
  readonly windowMs: number;
  readonly summary: Summary;
  readonly workloads: readonly WorkloadDiff[];
}

/** Namespaces to look at: every one, or a list. */
export type NamespaceScope =
  { readonly all: true } | { readonly all: false; readonly names: readonly string[] };

/**
 * Which workloads are judged:
 * - "declared": those the intents declare (with includeUndeclared, also every observed
 *   workload in their namespaces): `diff --intents FILES`, and the webhook judging a workload
 *   that has intents;
 * - "namespaces": every observed workload in the namespaces, declared or not: `diff` of the
 *   cluster's intents, and the webhook judging a workload without any.
 */
export type WorkloadScope = "declared" | "namespaces";

export interface DiffInput extends JudgeOptions {
  readonly intents: readonly ClientIntents[];
  readonly workloadScope: WorkloadScope;
  readonly observed: readonly ObservedWorkload[];
  readonly namespaces: NamespaceScope;
  /** With files: also judge every observed workload in the intents' namespaces. */
  readonly includeUndeclared: boolean;
  /**
   * The intents as they are on the target branch (--base): what a pull request adds is new,
   * what it removes while still observed is its own missing finding.
   */
  readonly base?: readonly ClientIntents[];
  /**
   * Judge each workload's findings when they are read, and keep none: a report of 10,000
   * workloads then holds one workload's findings at a time (read twice: for the summary, and
   * to render them).
   */
  readonly findingsWhenRead?: boolean;
}

function inScope(scope: NamespaceScope, namespace: string): boolean {
  return scope.all || scope.names.includes(namespace);
}

interface Group {
  namespace: string;
  name: string;
  kind?: string;
  intents: ClientIntents[];
  observed: ObservedWorkload[];
  /** The base branch's intents for this workload (with --base). */
  base: ClientIntents[];
}

/** The order of namespaces in a report. */
export function compareNamespaces(a: string, b: string): number {
  return a.localeCompare(b);
}

function compareRefs(a: WorkloadRef, b: WorkloadRef): number {
  return (
    compareNamespaces(a.namespace, b.namespace) ||
    a.name.localeCompare(b.name) ||
    (a.kind ?? "").localeCompare(b.kind ?? "")
  );
}

export function summarize(workloads: readonly WorkloadDiff[]): Summary {
  const summary = { workloads: workloads.length } as Summary;
  for (const v of VERDICTS) summary[v] = 0;
  for (const w of workloads) for (const f of w.findings) summary[f.verdict]++;
  return summary;
}

/** Groups intents and observations by workload (namespace and name; kind only when named). */
export function groupWorkloads(input: DiffInput): Group[] {
  const declared = new Map<string, Group>();
  const declare = (ci: ClientIntents, into: "intents" | "base") => {
    if (!inScope(input.namespaces, ci.namespace)) return;
    const key = `${ci.namespace}/${ci.workload.name}`;
    let g = declared.get(key);
    if (!g) {
      g = { namespace: ci.namespace, name: ci.workload.name, intents: [], observed: [], base: [] };
      declared.set(key, g);
    }
    if (ci.workload.kind && !g.kind) g.kind = ci.workload.kind;
    g[into].push(ci);
  };
  for (const ci of input.intents) declare(ci, "intents");
  // A workload the base declares stays in scope when the change deletes its intents.
  for (const ci of input.base ?? []) declare(ci, "base");
  const declaredNamespaces = new Set([...declared.values()].map((g) => g.namespace));
  const undeclared = new Map<string, Group>();
  for (const o of input.observed) {
    const g = declared.get(`${o.namespace}/${o.name}`);
    if (g && (!g.kind || !o.kind || g.kind === o.kind)) {
      g.observed.push(o);
      continue;
    }
    const wanted =
      input.workloadScope === "declared"
        ? input.includeUndeclared && declaredNamespaces.has(o.namespace)
        : inScope(input.namespaces, o.namespace);
    if (!wanted) continue;
    const key = `${o.namespace}/${o.name}/${o.kind ?? ""}`;
    let u = undeclared.get(key);
    if (!u) {
      u = { namespace: o.namespace, name: o.name, intents: [], observed: [], base: [] };
      if (o.kind) u.kind = o.kind;
      undeclared.set(key, u);
    }
    u.observed.push(o);
  }
  return [...declared.values(), ...undeclared.values()];
}

const ADDED =
  "added by this change and not used yet: it is judged once it has been declared for the window";
const REMOVED = "still observed, but this change removes the intent that declared it";

/** A missing target's destination (without its ports) and its ports ("*": not known). */
function destinationPorts(t: TargetV2): [string, readonly (number | "*")[]] {
  const ports = "internet" in t ? (t.internet.ports ?? []) : [];
  const bare = "internet" in t ? { internet: { ...t.internet, ports: [] } } : t;
  return [missingKey(bare), ports.length > 0 ? ports : ["*"]];
}

/**
 * A pull request's findings against its base branch: an item the change adds is at worst
 * unverified (nobody could have used it yet), and a destination (or port) that the base covered
 * but the change leaves missing is the change's doing.
 */
function againstBase(findings: Finding[], g: Group, input: DiffInput): Finding[] {
  const baseItems: readonly DeclaredItem[] = concatAll(g.base.map((ci) => ci.items));
  const baseKeys = new Set(baseItems.map(itemKey));
  // What the base left missing, by destination: its ports, or "*" for all of them.
  const baseMissing = new Map<string, Set<number | "*">>();
  for (const f of judgeWorkload(baseItems, g.observed, input)) {
    if (f.verdict !== "missing") continue;
    const [key, ports] = destinationPorts(f.target);
    const set = baseMissing.get(key) ?? new Set();
    ports.forEach((p) => set.add(p));
    baseMissing.set(key, set);
  }
  /** The ports of a missing target the base left missing too, and those it declared. */
  const splitPorts = (t: TargetV2): { before: (number | "*")[]; removed: (number | "*")[] } => {
    const [key, ports] = destinationPorts(t);
    const base = baseMissing.get(key);
    if (base?.has("*")) return { before: [...ports], removed: [] };
    return {
      before: ports.filter((p) => base?.has(p)),
      removed: ports.filter((p) => !base?.has(p)),
    };
  };
  const withPorts = (f: Finding, ports: (number | "*")[]): Finding =>
    "internet" in f.target && !ports.includes("*")
      ? { ...f, target: { internet: { ...f.target.internet, ports: ports as number[] } } }
      : f;
  return sortFindings(
    findings.flatMap((f): Finding[] => {
      if (f.verdict === "missing") {
        // Blame the change only for the ports the base declared: the rest were missing before.
        const { before, removed } = splitPorts(f.target);
        if (removed.length === 0) return [f];
        const blamed = { ...f, code: "RemovedByChange" as const, reason: REMOVED };
        if (before.length === 0) return [blamed];
        return [withPorts(blamed, removed), withPorts(f, before)];
      }
      if (f.item === undefined || baseKeys.has(itemKey(f.item))) return [f];
      if (f.verdict === "unnecessary" || f.verdict === "unverified") {
        return [{ ...f, verdict: "unverified", code: "AddedByChange", reason: ADDED }];
      }
      return [f];
    }),
  );
}

export function diffEgress(input: DiffInput): EgressDiff {
  const workloads: WorkloadDiff[] = groupWorkloads(input).map((g) => {
    const kind = g.kind ?? g.observed.find((o) => o.kind)?.kind;
    const workload: WorkloadRef = kind
      ? { namespace: g.namespace, name: g.name, kind }
      : { namespace: g.namespace, name: g.name };
    const items = concatAll(g.intents.map((ci) => ci.items));
    const first = g.intents[0];
    const judged = () => {
      const findings = judgeWorkload(items, g.observed, input);
      return input.base === undefined ? findings : againstBase(findings, g, input);
    };
    const diff = {
      workload,
      ...(first
        ? {
            intents: first.source,
            declaredIn: g.intents.map((ci) => ({ source: ci.source, apiVersion: ci.apiVersion })),
          }
        : {}),
    };
    return input.findingsWhenRead
      ? (Object.defineProperty(diff, "findings", { get: judged, enumerable: true }) as WorkloadDiff)
      : { ...diff, findings: judged() };
  });
  workloads.sort((a, b) => compareRefs(a.workload, b.workload));
  return { now: input.now, windowMs: input.windowMs, summary: summarize(workloads), workloads };
}

export type FailOn = ReadonlySet<Verdict>;

/** Exit status of a diff: 1 when any finding has a failing verdict (counted in the summary). */
export function hasFailingFindings(diff: Pick<EgressDiff, "summary">, failOn: FailOn): boolean {
  return [...failOn].some((v) => diff.summary[v] > 0);
}
