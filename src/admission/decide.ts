import { clientIntentsFromObject, type ClientIntents } from "../client-intents.js";
import { diffEgress, type WorkloadRef } from "../diff.js";
import { formatDuration, formatTimestamp } from "../duration.js";
import { InputError } from "../errors.js";
import type { ObservedWorkload } from "../observed-egress.js";
import { targetLabel, targetPorts } from "../render/target-label.js";
import type { Obj } from "../shape.js";
import type { Finding, Listening, Verdict } from "../verdicts.js";
import type { AdmissionAnswer, AdmissionRequest } from "./review.js";

/**
 * The webhook's decision: the same engine as `kubectl otter egress diff`, on what the
 * informer caches hold for the request's namespace.
 */

export const GATE_LABEL = "egress.otter.dev/gate";
export const SKIP_ANNOTATION = "egress.otter.dev/skip";
const WORKLOAD_NAME_ANNOTATION = "intents.otterize.com/workload-name";
export const WORKLOAD_KINDS = ["Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job"];

/** What the caches know about one namespace, and the webhook's settings. */
export interface AdmissionContext {
  readonly namespaceLabels: Readonly<Record<string, string>> | undefined;
  /** The ClientIntents in the namespace whose workload has this name (any kind). */
  intentsOf(workload: string): readonly ClientIntents[];
  /** The observations in the namespace of the workload with this name (any kind). */
  observedOf(workload: string): readonly ObservedWorkload[];
  readonly listening: Listening;
  readonly now: number;
  readonly windowMs: number;
  readonly denyOn: ReadonlySet<Verdict>;
}

/** Lookups over the ClientIntents and observations of one namespace, given as lists. */
export function namespaceContents(
  intents: readonly ClientIntents[],
  observed: readonly ObservedWorkload[],
): Pick<AdmissionContext, "intentsOf" | "observedOf"> {
  return {
    intentsOf: (workload) => intents.filter((ci) => ci.workload.name === workload),
    observedOf: (workload) => observed.filter((o) => o.name === workload),
  };
}

const ALLOW: AdmissionAnswer = { allowed: true, warnings: [] };

function annotations(o: unknown): Record<string, unknown> {
  const meta = (o as Obj | undefined)?.metadata as Obj | undefined;
  const a = meta?.annotations;
  return a && typeof a === "object" ? (a as Record<string, unknown>) : {};
}

/** The Otterize workload a workload object's pods belong to. */
export function workloadOf(req: AdmissionRequest): WorkloadRef {
  const spec = req.object.spec as Obj | undefined;
  const template =
    req.kind.kind === "CronJob"
      ? (((spec?.jobTemplate as Obj | undefined)?.spec as Obj | undefined)?.template as
          Obj | undefined)
      : (spec?.template as Obj | undefined);
  const override = annotations(template)[WORKLOAD_NAME_ANNOTATION];
  if (typeof override === "string" && override !== "") {
    return { namespace: req.namespace, name: override };
  }
  return { namespace: req.namespace, name: req.name, kind: req.kind.kind };
}

function sameWorkload(ci: ClientIntents, w: WorkloadRef): boolean {
  return (
    ci.namespace === w.namespace &&
    ci.workload.name === w.name &&
    (!ci.workload.kind || !w.kind || ci.workload.kind === w.kind)
  );
}

function describeFinding(f: Finding, windowMs: number): string {
  const ports = targetPorts(f.target);
  const what = `${targetLabel(f.target)}${ports === "-" ? "" : `:${ports}`}`;
  if (f.verdict === "missing") {
    return `missing ${what} (last seen ${f.lastSeen === undefined ? "?" : formatTimestamp(f.lastSeen)})`;
  }
  if (f.verdict === "unnecessary") {
    const since =
      f.lastSeen === undefined
        ? `not seen in ${formatDuration(windowMs)}`
        : `not seen since ${formatTimestamp(f.lastSeen)}`;
    return `unnecessary ${what} (${since})`;
  }
  return `${f.verdict} ${what}`;
}

/**
 * Why declared targets could not be judged (a workload that cannot be observed, a gap, the
 * collector stopped, intents too new): one warning per reason, at most three.
 */
function unverifiedWarnings(title: string, findings: readonly Finding[]): string[] {
  const byReason = new Map<string, number>();
  for (const f of findings) {
    if (f.verdict !== "unverified") continue;
    const reason = f.reason.split("; ")[0] ?? f.reason;
    byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
  }
  return [...byReason]
    .slice(0, 3)
    .map(([reason, n]) =>
      clip(
        `otter egress: ${title}: ${n} declared target${n === 1 ? "" : "s"} unverified: ${reason}`,
      ),
    );
}

/** Warnings stay short: the API server keeps each under 4 KiB and all under 64 KiB. */
function clip(warning: string): string {
  return warning.length > 512 ? `${warning.slice(0, 511)}…` : warning;
}

function judge(
  workload: WorkloadRef,
  intents: readonly ClientIntents[],
  ctx: AdmissionContext,
  mode: "enforce" | "warn",
): AdmissionAnswer {
  // Only this workload's observations: the rest of the namespace cannot change its verdicts.
  const observed = ctx.observedOf(workload.name);
  const diff = diffEgress({
    intents,
    intentsFromFiles: intents.length > 0,
    observed,
    namespaces: { all: false, names: [workload.namespace] },
    includeUndeclared: false,
    now: ctx.now,
    windowMs: ctx.windowMs,
    listening: ctx.listening,
  });
  const found = diff.workloads.find(
    (w) => w.workload.name === workload.name && w.workload.namespace === workload.namespace,
  );
  const failing = (found?.findings ?? []).filter((f) => ctx.denyOn.has(f.verdict));
  const title = `${workload.namespace}/${workload.name}${found?.workload.kind ? ` (${found.workload.kind})` : ""}`;
  const unverified = unverifiedWarnings(title, found?.findings ?? []);
  if (failing.length === 0) return { allowed: true, warnings: unverified, mode };
  const verdicts = failing.map((f) => f.verdict);
  const fix = `kubectl otter egress suggest -n ${workload.namespace} ${workload.name}`;
  const items = failing.map((f) => describeFinding(f, ctx.windowMs));
  if (mode === "enforce") {
    return {
      allowed: false,
      message: `otter egress: the intents of ${title} do not match its observed egress: ${items.join("; ")}. To print intents that match: ${fix}`,
      warnings: unverified,
      mode,
      failing: verdicts,
    };
  }
  return {
    allowed: true,
    warnings: [
      `otter egress: ${title} intents drift (fix: ${fix})`,
      ...items.map((i) => `otter egress: ${i}`),
      ...unverified,
    ],
    mode,
    failing: verdicts,
  };
}

/** Decides one admission request. Pure: every input is in `req` and `ctx`. */
export function decide(req: AdmissionRequest, ctx: AdmissionContext): AdmissionAnswer {
  const mode = ctx.namespaceLabels?.[GATE_LABEL];
  if (mode !== "enforce" && mode !== "warn") return ALLOW;
  if (req.operation !== "CREATE" && req.operation !== "UPDATE") return ALLOW;
  const skip = annotations(req.object)[SKIP_ANNOTATION];
  if (typeof skip === "string") {
    return {
      allowed: true,
      warnings: [`otter egress: check skipped (${skip || "no reason given"})`],
      mode,
    };
  }
  if (req.kind.group === "k8s.otterize.com" && req.kind.kind === "ClientIntents") {
    let ci: ClientIntents;
    try {
      const meta = { ...(req.object.metadata as Obj), name: req.name, namespace: req.namespace };
      ci = clientIntentsFromObject({ ...req.object, metadata: meta }, req.namespace);
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      const message = `otter egress: cannot judge invalid ClientIntents: ${e.message}`;
      return mode === "enforce"
        ? { allowed: false, message, warnings: [], mode }
        : { allowed: true, warnings: [message], mode };
    }
    const w: WorkloadRef = ci.workload.kind
      ? { namespace: ci.namespace, name: ci.workload.name, kind: ci.workload.kind }
      : { namespace: ci.namespace, name: ci.workload.name };
    // This object replaces its stored version; other ClientIntents of the workload add up.
    const others = ctx.intentsOf(w.name).filter((o) => o.name !== ci.name && sameWorkload(o, w));
    return judge(w, [ci, ...others], ctx, mode);
  }
  if (req.kind.group === "apps" || req.kind.group === "batch") {
    if (!WORKLOAD_KINDS.includes(req.kind.kind)) return ALLOW;
    const w = workloadOf(req);
    const intents = ctx.intentsOf(w.name).filter((ci) => sameWorkload(ci, w));
    return judge(w, intents, ctx, mode);
  }
  return ALLOW;
}
