import { sameContent } from "../canonical.js";
import { clientIntentsFromObject, type ClientIntents } from "../client-intents.js";
import { diffEgress, type WorkloadRef } from "../diff.js";
import { formatDuration, formatTimestamp } from "../duration.js";
import { InputError } from "../errors.js";
import type { ObservedWorkload } from "../observed-egress.js";
import { targetLabel, targetPorts } from "../render/target-label.js";
import type { Obj } from "../shape.js";
import type { Finding, Listening, Verdict } from "../verdicts.js";
import type { AdmissionAnswer, AdmissionRequest } from "./review.js";
import { shellQuote } from "../shell-quote.js";
import { GATE_LABEL, SKIP_ANNOTATION, workloadNameFromAnnotations } from "../labels.js";
import { isClientIntents, isGated } from "./gated.js";

/**
 * The webhook's decision: the same engine as `kubectl otter egress diff`, on what the
 * informer caches hold for the request's namespace.
 */

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
  const override = workloadNameFromAnnotations(annotations(template));
  if (override !== undefined) return { namespace: req.namespace, name: override };
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
  // Target names come from objects too: text only, bounded.
  const what = printable(`${targetLabel(f.target)}${ports === "-" ? "" : `:${ports}`}`, 200);
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
    const cut = f.reason.indexOf("; ");
    const reason = cut < 0 ? f.reason : f.reason.slice(0, cut);
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

/**
 * Warnings stay short and few: the API server keeps 4,096 characters of warnings per request
 * in all (and cuts each to 256 past that): 1 + 3 + 10 + 1 warnings of at most 240.
 */
const WARNING_CHARS = 240;
function clip(warning: string): string {
  return warning.length > WARNING_CHARS ? `${warning.slice(0, WARNING_CHARS - 1)}…` : warning;
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
    // Intents judge what they declare; without any, what was observed is judged (all missing).
    workloadScope: intents.length > 0 ? "declared" : "namespaces",
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
  // Names may come from an annotation: printed as text, never as something to run.
  const title = printable(
    `${workload.namespace}/${workload.name}${found?.workload.kind ? ` (${found.workload.kind})` : ""}`,
  );
  const unverified = unverifiedWarnings(title, found?.findings ?? []);
  if (failing.length === 0) return { allowed: true, warnings: unverified, mode };
  const verdicts = failing.map((f) => f.verdict);
  const fix = `kubectl otter egress suggest -n ${shellQuote(workload.namespace)} ${shellQuote(printable(workload.name))}`;
  const items = failing.map((f) => describeFinding(f, ctx.windowMs));
  if (mode === "enforce") {
    return {
      allowed: false,
      message: `otter egress: the intents of ${title} do not match its observed egress: ${listed(items)}. To print intents that match: ${fix}`,
      warnings: unverified,
      mode,
      failing: verdicts,
    };
  }
  return {
    allowed: true,
    warnings: [
      clip(`otter egress: ${title} intents drift (fix: ${fix})`),
      ...unverified,
      ...items.slice(0, WARNED_ITEMS).map((i) => clip(`otter egress: ${i}`)),
      ...(items.length > WARNED_ITEMS
        ? [clip(`otter egress: and ${items.length - WARNED_ITEMS} more (see ${fix})`)]
        : []),
    ],
    mode,
    failing: verdicts,
  };
}

/** Items named in warnings, one each (see WARNING_CHARS for the budget). */
const WARNED_ITEMS = 10;
/** A denial's list of items stays well within what kubectl shows and the API server keeps. */
const MESSAGE_ITEMS_CHARS = 3000;

function listed(items: readonly string[]): string {
  let out = "";
  for (const [i, item] of items.entries()) {
    const next = out === "" ? item : `${out}; ${item}`;
    if (next.length > MESSAGE_ITEMS_CHARS) {
      return out === ""
        ? `${item.slice(0, MESSAGE_ITEMS_CHARS)}…`
        : `${out}; and ${items.length - i} more`;
    }
    out = next;
  }
  return out;
}

/**
 * The part of an object that can change egress: a workload's pod template (a CronJob's job
 * template's), a ClientIntents' spec. Replicas, suspend, strategy, metadata and status cannot.
 */
function egressSpec(req: AdmissionRequest, o: Obj | undefined): unknown {
  const spec = o?.spec as Obj | undefined;
  if (isClientIntents(req.kind)) return spec;
  if (req.kind.kind === "CronJob") return (spec?.jobTemplate as Obj | undefined)?.spec;
  return spec?.template;
}

/** Whether a request can change egress, so that it is judged at all (DESIGN: webhook). */
export function judged(req: AdmissionRequest): boolean {
  if (req.operation === "CREATE") return !ownedByCronJob(req, req.object);
  if (req.operation !== "UPDATE") return false;
  // Being deleted: finalizers are coming off; a delete must never hang on the gate.
  if ((req.object.metadata as Obj | undefined)?.deletionTimestamp) return false;
  if (ownedByCronJob(req, req.object)) return false;
  if (!req.oldObject) return true;
  const skipNow = annotations(req.object)[SKIP_ANNOTATION];
  const skipBefore = annotations(req.oldObject)[SKIP_ANNOTATION];
  // Taking the skip annotation off (or changing it) is asking to be judged again.
  if (skipNow !== skipBefore) return true;
  return !sameContent(egressSpec(req, req.object), egressSpec(req, req.oldObject));
}

/** A Job a CronJob controls: the CronJob is the workload, gated itself. */
function ownedByCronJob(req: AdmissionRequest, o: Obj): boolean {
  if (req.kind.kind !== "Job") return false;
  const refs = (o.metadata as Obj | undefined)?.ownerReferences;
  return (
    Array.isArray(refs) &&
    refs.some((r) => (r as Obj | null)?.kind === "CronJob" && (r as Obj).controller === true)
  );
}

/** Printable text from an object: control characters out, bounded. */
export function printable(text: string, max = 256): string {
  // Control characters, and those that reorder or hide text (bidi overrides, zero-width).
  const clean = text.replace(
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g,
    " ",
  );
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

/** Decides one admission request. Pure: every input is in `req` and `ctx`. */
export function decide(req: AdmissionRequest, ctx: AdmissionContext): AdmissionAnswer {
  const mode = ctx.namespaceLabels?.[GATE_LABEL];
  if (mode !== "enforce" && mode !== "warn") return ALLOW;
  if (!isGated(req.kind) || !judged(req)) return ALLOW;
  const skip = annotations(req.object)[SKIP_ANNOTATION];
  if (typeof skip === "string") {
    return {
      allowed: true,
      warnings: [`otter egress: check skipped (${printable(skip) || "no reason given"})`],
      mode,
    };
  }
  if (isClientIntents(req.kind)) {
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
  const w = workloadOf(req);
  const intents = ctx.intentsOf(w.name).filter((ci) => sameWorkload(ci, w));
  return judge(w, intents, ctx, mode);
}
