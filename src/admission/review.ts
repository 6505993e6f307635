import type { Obj } from "../shape.js";
import type { Verdict } from "../verdicts.js";

/**
 * AdmissionReview (admission.k8s.io/v1) in and out, as plain data. Parsing never throws: a
 * body that is not a usable review is an error string for an HTTP 400.
 */

export interface AdmissionRequest {
  readonly uid: string;
  readonly kind: { readonly group: string; readonly version: string; readonly kind: string };
  readonly namespace: string;
  readonly name: string;
  readonly operation: string;
  readonly object: Obj;
  /** The stored object an UPDATE replaces. */
  readonly oldObject?: Obj;
  readonly dryRun: boolean;
}

export interface AdmissionAnswer {
  readonly allowed: boolean;
  /** Why it is denied (shown by kubectl), or undefined when allowed. */
  readonly message?: string;
  readonly warnings: readonly string[];
  /** The namespace's gate, when it has one (for metrics). */
  readonly mode?: "enforce" | "warn";
  /** The verdicts of the findings that failed the check, one per finding (for metrics). */
  readonly failing?: readonly Verdict[];
}

const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

export function parseReview(body: unknown): { request: AdmissionRequest } | { error: string } {
  if (!isObj(body)) return { error: "the body is not a JSON object" };
  if (body.apiVersion !== "admission.k8s.io/v1" || body.kind !== "AdmissionReview") {
    return { error: "expected apiVersion admission.k8s.io/v1, kind AdmissionReview" };
  }
  const r = body.request;
  if (!isObj(r)) return { error: "request is missing" };
  if (typeof r.uid !== "string" || r.uid === "") return { error: "request.uid is missing" };
  const kind = r.kind;
  if (!isObj(kind) || typeof kind.kind !== "string") return { error: "request.kind is missing" };
  if (typeof r.operation !== "string") return { error: "request.operation is missing" };
  const object = r.object;
  if (!isObj(object)) return { error: "request.object is missing" };
  const meta = isObj(object.metadata) ? object.metadata : {};
  const namespace = typeof r.namespace === "string" ? r.namespace : String(meta.namespace ?? "");
  const name = typeof r.name === "string" && r.name !== "" ? r.name : String(meta.name ?? "");
  return {
    request: {
      uid: r.uid,
      kind: {
        group: typeof kind.group === "string" ? kind.group : "",
        version: typeof kind.version === "string" ? kind.version : "",
        kind: kind.kind,
      },
      namespace,
      name,
      operation: r.operation,
      object,
      ...(isObj(r.oldObject) ? { oldObject: r.oldObject } : {}),
      dryRun: r.dryRun === true,
    },
  };
}

/** The AdmissionReview to send back for an answer. */
export function reviewResponse(uid: string, answer: AdmissionAnswer): Obj {
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    response: {
      uid,
      allowed: answer.allowed,
      ...(answer.allowed
        ? {}
        : { status: { code: 403, reason: "Forbidden", message: answer.message ?? "denied" } }),
      ...(answer.warnings.length > 0 ? { warnings: [...answer.warnings] } : {}),
    },
  };
}
