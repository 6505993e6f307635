import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  makeInformer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from "@kubernetes/client-node";
import { clientIntentsFromObject, type ClientIntents } from "../src/client-intents.js";
import {
  LEASE_NAME,
  leaseReading,
  listeningFromLease,
  type LeaseReading,
} from "../src/collector-lease.js";
import { InputError } from "../src/errors.js";
import { observedFromObject, type ObservedWorkload } from "../src/observed-egress.js";
import type { Obj } from "../src/shape.js";
import type { Listening } from "../src/verdicts.js";

/**
 * In-memory caches of ObservedEgress, ClientIntents, Namespaces and the collector's Lease,
 * kept by informers (list, then watch). Objects are parsed once, when they change, so a
 * request only reads maps.
 */

type Listed = () => Promise<KubernetesListObject<KubernetesObject>>;

function key(o: KubernetesObject): string {
  return `${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`;
}

/** Parsed objects by namespace, updated per object. */
class ByNamespace<T> {
  private readonly byKey = new Map<string, { ns: string; value: T }>();
  private readonly index = new Map<string, Map<string, T>>();

  set(o: KubernetesObject, value: T | undefined): void {
    this.delete(o);
    if (value === undefined) return;
    const ns = o.metadata?.namespace ?? "";
    this.byKey.set(key(o), { ns, value });
    let m = this.index.get(ns);
    if (!m) this.index.set(ns, (m = new Map()));
    m.set(key(o), value);
  }

  delete(o: KubernetesObject): void {
    const k = key(o);
    const old = this.byKey.get(k);
    if (!old) return;
    this.byKey.delete(k);
    this.index.get(old.ns)?.delete(k);
  }

  in(ns: string): T[] {
    return [...(this.index.get(ns)?.values() ?? [])];
  }

  get size(): number {
    return this.byKey.size;
  }
}

export class Caches {
  readonly intents = new ByNamespace<ClientIntents>();
  readonly observed = new ByNamespace<ObservedWorkload>();
  private readonly labels = new Map<string, Record<string, string>>();
  private lease: LeaseReading = { found: false, why: "missing" };
  private readonly synced = new Set<string>();
  private readonly stops: Array<() => Promise<void>> = [];

  constructor(
    private readonly kc: KubeConfig,
    private readonly collectorNamespace: string,
    private readonly log: (entry: Record<string, unknown>) => void,
  ) {}

  get ready(): boolean {
    return this.synced.size === 4;
  }

  namespaceLabels(ns: string): Record<string, string> | undefined {
    return this.labels.get(ns);
  }

  listening(now: number): Listening {
    return listeningFromLease(this.lease, this.collectorNamespace, now);
  }

  private watch(
    name: string,
    path: string,
    list: Listed,
    onChange: (o: KubernetesObject) => void,
    onDelete: (o: KubernetesObject) => void,
  ) {
    const informer = makeInformer(this.kc, path, list);
    informer.on("add", onChange);
    informer.on("update", onChange);
    informer.on("delete", onDelete);
    // start() lists, then watches; a failed list or watch is reported as "error", not thrown.
    let errors = 0;
    const attempt = async (): Promise<void> => {
      const before = errors;
      await informer.start().catch((err: unknown) => {
        errors++;
        this.log({ level: "warn", msg: "list failed", resource: name, error: String(err) });
      });
      if (errors === before) this.synced.add(name);
    };
    informer.on("error", (err: unknown) => {
      errors++;
      this.log({
        level: "warn",
        msg: "watch failed; restarting",
        resource: name,
        error: String(err),
      });
      setTimeout(() => void attempt(), 1000).unref();
    });
    this.stops.push(() => informer.stop());
    return attempt();
  }

  /** Resolves once every cache has listed and is watching, or rejects after `timeoutMs`. */
  async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ready) {
      if (Date.now() > deadline) throw new Error(`caches not synced after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async start(): Promise<void> {
    const custom = this.kc.makeApiClient(CustomObjectsApi);
    const core = this.kc.makeApiClient(CoreV1Api);
    const coordination = this.kc.makeApiClient(CoordinationV1Api);
    const parseIntents = (o: KubernetesObject) => {
      try {
        return clientIntentsFromObject(o as unknown as Obj, o.metadata?.namespace ?? "default");
      } catch (e) {
        if (!(e instanceof InputError)) throw e;
        this.log({
          level: "warn",
          msg: "ignoring invalid ClientIntents",
          object: key(o),
          error: e.message,
        });
        return undefined;
      }
    };
    const parseObserved = (o: KubernetesObject) => {
      try {
        return observedFromObject(o as unknown as Obj);
      } catch (e) {
        if (!(e instanceof InputError)) throw e;
        this.log({
          level: "warn",
          msg: "ignoring invalid ObservedEgress",
          object: key(o),
          error: e.message,
        });
        return undefined;
      }
    };
    await Promise.all([
      this.watch(
        "clientintents",
        "/apis/k8s.otterize.com/v2beta1/clientintents",
        () =>
          custom.listClusterCustomObject({
            group: "k8s.otterize.com",
            version: "v2beta1",
            plural: "clientintents",
          }) as ReturnType<Listed>,
        (o) => this.intents.set(o, parseIntents(o)),
        (o) => this.intents.delete(o),
      ),
      this.watch(
        "observedegresses",
        "/apis/egress.otter.dev/v1alpha1/observedegresses",
        () =>
          custom.listClusterCustomObject({
            group: "egress.otter.dev",
            version: "v1alpha1",
            plural: "observedegresses",
          }) as ReturnType<Listed>,
        (o) => this.observed.set(o, parseObserved(o)),
        (o) => this.observed.delete(o),
      ),
      this.watch(
        "namespaces",
        "/api/v1/namespaces",
        () => core.listNamespace() as unknown as ReturnType<Listed>,
        (o) => this.labels.set(o.metadata?.name ?? "", { ...(o.metadata?.labels ?? {}) }),
        (o) => this.labels.delete(o.metadata?.name ?? ""),
      ),
      this.watch(
        "leases",
        `/apis/coordination.k8s.io/v1/namespaces/${this.collectorNamespace}/leases`,
        () =>
          coordination.listNamespacedLease({
            namespace: this.collectorNamespace,
            fieldSelector: `metadata.name=${LEASE_NAME}`,
          }) as unknown as ReturnType<Listed>,
        (o) => {
          if (o.metadata?.name !== LEASE_NAME) return;
          this.lease = leaseReading(o as { spec?: { renewTime?: unknown } });
        },
        (o) => {
          if (o.metadata?.name === LEASE_NAME) this.lease = { found: false, why: "missing" };
        },
      ),
    ]);
  }

  async stop(): Promise<void> {
    await Promise.all(this.stops.map((s) => s().catch(() => undefined)));
  }
}
