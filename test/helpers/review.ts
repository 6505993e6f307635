import { parseReview, type AdmissionRequest } from "../../src/admission/review.js";

/**
 * AdmissionReview bodies (admission.k8s.io/v1) as the API server sends them, for every test
 * that needs one: the object, its kind, and what else the test cares about.
 */

type Obj = Record<string, unknown>;

export interface ReviewOptions {
  readonly object: Obj;
  /** The review's kind (default: what the object's apiVersion and kind say). */
  readonly kind?: { readonly group: string; readonly version: string; readonly kind: string };
  readonly operation?: "CREATE" | "UPDATE" | "DELETE" | "CONNECT";
  readonly oldObject?: Obj;
  /** Default: the object's namespace, else "dev". */
  readonly namespace?: string;
  readonly uid?: string;
  readonly dryRun?: boolean;
}

function kindOf(object: Obj): { group: string; version: string; kind: string } {
  const apiVersion = String(object.apiVersion ?? "v1");
  const slash = apiVersion.indexOf("/");
  return {
    group: slash < 0 ? "" : apiVersion.slice(0, slash),
    version: apiVersion.slice(slash + 1),
    kind: String(object.kind ?? ""),
  };
}

export function review(o: ReviewOptions): Obj {
  const meta = (o.object.metadata ?? {}) as { name?: string; namespace?: string };
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: o.uid ?? "u-1",
      kind: o.kind ?? kindOf(o.object),
      namespace: o.namespace ?? meta.namespace ?? "dev",
      name: meta.name ?? "",
      operation: o.operation ?? "CREATE",
      object: o.object,
      ...(o.oldObject ? { oldObject: o.oldObject } : {}),
      ...(o.dryRun ? { dryRun: true } : {}),
    },
  };
}

/** The request the webhook reads from such a review. */
export function request(o: ReviewOptions): AdmissionRequest {
  const r = parseReview(review(o));
  if ("error" in r) throw new Error(r.error);
  return r.request;
}
