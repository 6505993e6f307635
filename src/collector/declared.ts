import { clientIntentsFromObject, fastV2Target, type ClientIntents } from "../client-intents.js";
import { asObject, type Obj } from "../shape.js";
import type { WorkloadIdentity } from "./pods.js";
import { formatTimestamp, parseTimestamp } from "../duration.js";
import { itemKey, itemTarget, type DeclaredItem, type TargetV2 } from "../targets.js";
import { sameContent } from "../canonical.js";

/**
 * `status.declared`: since when each item a workload's ClientIntents now declare has been
 * declared in the cluster. Silence only proves a target unnecessary once it was declared for a
 * whole window, so these times must survive restarts: a stored `since` is kept as long as the
 * item stays declared.
 */

export interface DeclaringIntents {
  readonly intents: ClientIntents;
  /**
   * When its items are known to have been declared since: the object's creation when its spec
   * never changed (generation 1); undefined when that is unknown.
   */
  readonly exactSince?: number;
}

/**
 * A ClientIntents object from the API server: the workload it declares for, and its items
 * with the time they are known to be declared since. Throws InputError when it is invalid.
 */
export function declaringIntents(o: Obj): {
  readonly workload: WorkloadIdentity;
  readonly entry: DeclaringIntents;
} {
  const m = asObject(o.metadata) ?? {};
  const intents = clientIntentsFromObject(
    o,
    typeof m.namespace === "string" && m.namespace !== "" ? m.namespace : "default",
  );
  const t = m.creationTimestamp;
  const created =
    t instanceof Date ? t.getTime() : typeof t === "string" ? parseTimestamp(t) : undefined;
  const exactSince = m.generation === 1 ? created : undefined;
  return {
    workload: {
      namespace: intents.namespace,
      name: intents.workload.name,
      ...(intents.workload.kind ? { kind: intents.workload.kind } : {}),
    },
    entry: exactSince === undefined ? { intents } : { intents, exactSince },
  };
}

export interface DeclaredEntry {
  readonly key: string;
  /** v2beta1 form, one item, ports left out (changing ports does not make it new). */
  readonly target: TargetV2;
  readonly exactSince?: number;
}

/** The network items of a workload's ClientIntents, one entry per item. */
export function declaredEntries(list: readonly DeclaringIntents[]): DeclaredEntry[] {
  const byKey = new Map<string, DeclaredEntry>();
  for (const { intents, exactSince } of list) {
    for (const item of intents.items) {
      if (item.kind === "cloud") continue;
      const key = itemKey(item);
      const known = byKey.get(key);
      const since =
        known === undefined
          ? exactSince
          : known.exactSince === undefined || exactSince === undefined
            ? undefined
            : Math.min(known.exactSince, exactSince);
      byKey.set(key, {
        key,
        target: itemTarget(withoutPorts(item)),
        ...(since === undefined ? {} : { exactSince: since }),
      });
    }
  }
  return [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

function withoutPorts(item: DeclaredItem): DeclaredItem {
  return item.kind === "domain" || item.kind === "ip" ? { ...item, ports: [] } : item;
}

/** Stored entries by item key (the earliest since wins); unreadable ones are dropped. */
export function storedSince(stored: unknown, namespace: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of Array.isArray(stored) ? stored : []) {
    const entry = e as Obj | null;
    const since = typeof entry?.since === "string" ? parseTimestamp(entry.since) : undefined;
    if (since === undefined) continue;
    const items: DeclaredItem[] = [];
    if (!fastV2Target(entry?.target, namespace, { file: "status.declared" }, items)) continue;
    for (const item of items) {
      const key = itemKey(item);
      const known = out.get(key);
      if (known === undefined || since < known) out.set(key, since);
    }
  }
  return out;
}

/**
 * The declared list to store: every current entry, with its stored since, else the time it
 * is known from, else now. Entries no longer declared are dropped.
 */
export function mergeDeclared(
  stored: unknown,
  current: readonly DeclaredEntry[],
  namespace: string,
  nowMs: number,
): { readonly declared: Obj[]; readonly changed: boolean; readonly cut: boolean } {
  const known = storedSince(stored, namespace);
  // The CRD keeps at most DECLARED_MAX entries: past them, items have no recorded since, so
  // they stay unverified (never unnecessary), and the write is still accepted.
  const declared = current.slice(0, DECLARED_MAX).map((e) => ({
    target: e.target,
    since: formatTimestamp(known.get(e.key) ?? e.exactSince ?? nowMs),
  }));
  return {
    declared,
    changed: !sameContent(declared, stored ?? []),
    cut: current.length > DECLARED_MAX,
  };
}

/** status.declared's maxItems in the CRD. */
export const DECLARED_MAX = 2000;
