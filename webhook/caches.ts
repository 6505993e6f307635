import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
} from "@kubernetes/client-node";
import { LEASE_NAME } from "../src/collector-lease.js";
import { InformerSet, type Listed } from "./informer.js";
import { CacheStore, type Log } from "./store.js";

/**
 * In-memory caches of ObservedEgress, ClientIntents, Namespaces and the collector's Lease,
 * kept by informers (list, then watch) and parsed into a CacheStore as they change, so a
 * request only reads maps.
 */

export class Caches {
  readonly store: CacheStore;
  private readonly informers: InformerSet;

  constructor(
    private readonly kc: KubeConfig,
    private readonly collectorNamespace: string,
    private readonly log: Log,
  ) {
    this.store = new CacheStore(collectorNamespace, log);
    this.informers = new InformerSet(kc, log);
  }

  get ready(): boolean {
    return this.informers.synced(4);
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
    const store = this.store;
    // A custom resource in every namespace.
    const everywhere = (
      group: string,
      version: string,
      plural: string,
      onChange: (o: KubernetesObject) => void,
      onDelete: (o: KubernetesObject) => void,
    ) =>
      this.informers.watch(
        plural,
        `/apis/${group}/${version}/${plural}`,
        () => custom.listClusterCustomObject({ group, version, plural }) as ReturnType<Listed>,
        onChange,
        onDelete,
      );
    await Promise.all([
      everywhere(
        "k8s.otterize.com",
        "v2beta1",
        "clientintents",
        (o) => store.setIntents(o),
        (o) => store.deleteIntents(o),
      ),
      everywhere(
        "egress.otter.dev",
        "v1alpha1",
        "observedegresses",
        (o) => store.setObserved(o),
        (o) => store.deleteObserved(o),
      ),
      this.informers.watch(
        "namespaces",
        "/api/v1/namespaces",
        () => core.listNamespace() as unknown as ReturnType<Listed>,
        (o) => store.setNamespace(o),
        (o) => store.deleteNamespace(o),
      ),
      this.informers.watch(
        "leases",
        `/apis/coordination.k8s.io/v1/namespaces/${this.collectorNamespace}/leases`,
        () =>
          coordination.listNamespacedLease({
            namespace: this.collectorNamespace,
            fieldSelector: `metadata.name=${LEASE_NAME}`,
          }) as unknown as ReturnType<Listed>,
        (o) => store.setLease(o),
        (o) => store.deleteLease(o),
      ),
    ]);
  }

  async stop(): Promise<void> {
    await this.informers.stop();
  }
}
