import type { KubernetesObject } from "@kubernetes/client-node";
import type { AdmissionContext } from "../src/admission/decide.js";
import { clientIntentsFromObject, type ClientIntents } from "../src/client-intents.js";
import {
  LEASE_NAME,
  leaseReading,
  listeningFromLease,
  type LeaseReading,
} from "../src/collector-lease.js";
import { InputError } from "../src/errors.js";
import { objectKey } from "../src/k8s-objects.js";
import { observedFromObject, type ObservedWorkload } from "../src/observed-egress.js";
import type { Obj } from "../src/shape.js";
import type { Verdict } from "../src/verdicts.js";

/**
 * What the webhook decides from: ObservedEgress, ClientIntents, namespace labels and the
 * collector's Lease, parsed once per change and indexed by workload, so that a review reads a
 * few map entries and allocates nothing here. The informers (caches.ts) feed it; the
 * benchmark feeds it the same way.
 */

export type Log = (entry: Record<string, unknown>) => void;

/**
 * Parsed objects grouped by the workload they are about (namespace and name). A workload's
 * objects are one array, replaced (never changed) when one of them changes, so that a review
 * reads it as it is and nothing else is kept per workload.
 */
export class ByWorkload<T extends { readonly namespace: string }> {
  /** Object key → the value filed for it. */
  private readonly filed = new Map<string, T>();
  private readonly groups = new Map<string, readonly T[]>();

  constructor(private readonly workloadOf: (value: T) => string) {}

  private groupOf(value: T): string {
    return `${value.namespace}/${this.workloadOf(value)}`;
  }

  set(key: string, value: T | undefined): void {
    this.delete(key);
    if (value === undefined) return;
    this.filed.set(key, value);
    const group = this.groupOf(value);
    const list = this.groups.get(group);
    this.groups.set(group, list ? [...list, value] : [value]);
  }

  clear(): void {
    this.filed.clear();
    this.groups.clear();
  }

  delete(key: string): void {
    const value = this.filed.get(key);
    if (value === undefined) return;
    this.filed.delete(key);
    const group = this.groupOf(value);
    const rest = (this.groups.get(group) ?? []).filter((v) => v !== value);
    if (rest.length === 0) this.groups.delete(group);
    else this.groups.set(group, rest);
  }

  of(namespace: string, workload: string): readonly T[] {
    return this.groups.get(`${namespace}/${workload}`) ?? NONE;
  }

  get size(): number {
    return this.filed.size;
  }
}

const NONE: readonly never[] = Object.freeze([]);

export interface DecisionSettings {
  readonly windowMs: number;
  readonly denyOn: ReadonlySet<Verdict>;
}

export class CacheStore {
  readonly intents = new ByWorkload<ClientIntents>((ci) => ci.workload.name);
  readonly observed = new ByWorkload<ObservedWorkload>((o) => o.name);
  private readonly labels = new Map<string, Readonly<Record<string, string>>>();
  private lease: LeaseReading = { found: false, why: "missing" };

  constructor(
    private readonly collectorNamespace: string,
    private readonly log: Log = () => undefined,
  ) {}

  /** Parses an object; an invalid one is logged and dropped (it cannot be judged against). */
  private parsed<T>(o: KubernetesObject, what: string, parse: () => T): T | undefined {
    try {
      return parse();
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      this.log({
        level: "warn",
        msg: `ignoring invalid ${what}`,
        object: objectKey(o),
        error: e.message,
      });
      return undefined;
    }
  }

  setIntents(o: KubernetesObject): void {
    const value = this.parsed(o, "ClientIntents", () =>
      clientIntentsFromObject(o as unknown as Obj, o.metadata?.namespace ?? "default"),
    );
    this.intents.set(objectKey(o), value);
  }

  deleteIntents(o: KubernetesObject): void {
    this.intents.delete(objectKey(o));
  }

  setObserved(o: KubernetesObject): void {
    const value = this.parsed(o, "ObservedEgress", () => observedFromObject(o as unknown as Obj));
    this.observed.set(objectKey(o), value);
  }

  deleteObserved(o: KubernetesObject): void {
    this.observed.delete(objectKey(o));
  }

  setNamespace(o: KubernetesObject): void {
    this.labels.set(o.metadata?.name ?? "", { ...(o.metadata?.labels ?? {}) });
  }

  deleteNamespace(o: KubernetesObject): void {
    this.labels.delete(o.metadata?.name ?? "");
  }

  setLease(o: KubernetesObject): void {
    if (o.metadata?.name === LEASE_NAME) {
      this.lease = leaseReading(o as { spec?: { renewTime?: unknown } });
    }
  }

  deleteLease(o: KubernetesObject): void {
    if (o.metadata?.name === LEASE_NAME) this.lease = { found: false, why: "missing" };
  }

  /** What a decision about an object in `namespace` reads. */
  context(namespace: string, now: number, settings: DecisionSettings): AdmissionContext {
    return {
      namespaceLabels: this.labels.get(namespace),
      intentsOf: (workload) => this.intents.of(namespace, workload),
      observedOf: (workload) => this.observed.of(namespace, workload),
      listening: listeningFromLease(this.lease, this.collectorNamespace, now),
      now,
      windowMs: settings.windowMs,
      denyOn: settings.denyOn,
    };
  }
}
