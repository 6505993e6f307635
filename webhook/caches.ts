import {
  ApisApi,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
} from "@kubernetes/client-node";
import { INTENTS_GROUP, INTENTS_PLURAL, INTENTS_VERSIONS } from "../src/client-intents.js";
import { LEASE_NAME } from "../src/collector-lease.js";
import { OBSERVED_GROUP, OBSERVED_PLURAL, OBSERVED_VERSION } from "../src/observed-egress.js";
import { InformerSet, type Listed } from "../server/informer.js";
import { CacheStore, type Log } from "./store.js";

/**
 * In-memory caches of ObservedEgress, ClientIntents, Namespaces and the collector's Lease,
 * kept by informers (list, then watch) and parsed into a CacheStore as they change, so a
 * request only reads maps.
 */

/** How often a cluster without Otterize's CRD is asked again. */
const REDISCOVER_MS = 15_000;

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

  /** The ClientIntents version watched, or undefined while the cluster serves none we read. */
  intentsVersion: string | undefined;
  private rediscover: NodeJS.Timeout | undefined;

  /** Whether the served ClientIntents versions are known (discovery answered once). */
  private discovered = false;

  /**
   * Every watch started has listed and is watching (ClientIntents' too, while its CRD is
   * served), once discovery has said which ClientIntents version to watch.
   */
  get ready(): boolean {
    return this.discovered && this.informers.synced();
  }

  /**
   * Follows the ClientIntents CRD: watches the version to read, switches when it changes, and
   * stops (judging with nothing declared) when the CRD goes. A discovery that fails changes
   * nothing (it is not "no CRD").
   */
  private async followIntents(): Promise<void> {
    let version: string | undefined;
    try {
      version = await this.discoverIntents();
    } catch (e) {
      this.log({ level: "warn", msg: "API discovery failed", error: String(e) });
      return;
    }
    this.discovered = true;
    if (version === this.intentsVersion) return;
    if (this.intentsVersion !== undefined) {
      await this.informers.unwatch(INTENTS_PLURAL);
      this.store.intents.clear();
      this.intentsVersion = undefined;
    }
    if (version === undefined) {
      this.log({ level: "warn", msg: this.note ?? "" });
      return;
    }
    await this.watchIntents(version);
  }

  /** What readiness says beyond ok (a cluster without Otterize's CRD). */
  get note(): string | undefined {
    return this.intentsVersion === undefined
      ? "no ClientIntents CRD (k8s.otterize.com) is served: workloads are judged with nothing declared"
      : undefined;
  }

  /** Failed lists and broken watches, by cache. */
  failures(): Map<string, number> {
    return this.informers.failures();
  }

  /**
   * The ClientIntents version to watch: the group's preferred version when it is one we read,
   * else the newest served one we read; undefined when the group is not served.
   */
  private async discoverIntents(): Promise<string | undefined> {
    const apis = this.kc.makeApiClient(ApisApi);
    const groups = await apis.getAPIVersions();
    const group = groups.groups.find((g) => g.name === INTENTS_GROUP);
    if (!group) return undefined;
    const known: readonly string[] = INTENTS_VERSIONS;
    const preferred = group.preferredVersion?.version;
    if (preferred && known.includes(preferred)) return preferred;
    const served = group.versions.map((v) => v.version).filter((v) => known.includes(v));
    return served.sort((a, b) => known.indexOf(b) - known.indexOf(a))[0];
  }

  private watchIntents(version: string): Promise<void> {
    this.intentsVersion = version;
    this.log({ level: "info", msg: "watching ClientIntents", version });
    const custom = this.kc.makeApiClient(CustomObjectsApi);
    const group = INTENTS_GROUP;
    const plural = INTENTS_PLURAL;
    return this.informers.watch(
      plural,
      `/apis/${group}/${version}/${plural}`,
      (page) =>
        custom.listClusterCustomObject({ group, version, plural, ...page }) as ReturnType<Listed>,
      (o) => this.store.setIntents(o),
      (o) => this.store.deleteIntents(o),
    );
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
        (page) =>
          custom.listClusterCustomObject({ group, version, plural, ...page }) as ReturnType<Listed>,
        onChange,
        onDelete,
      );
    // Otterize's CRD may be missing, not serve v2beta1, be installed, removed or upgraded
    // later: followed from discovery now and every REDISCOVER_MS.
    for (let i = 0; i < 3 && !this.discovered; i++) {
      await this.followIntents();
      if (!this.discovered) await new Promise((r) => setTimeout(r, 1000));
    }
    this.rediscover = setInterval(() => void this.followIntents(), REDISCOVER_MS);
    this.rediscover.unref();
    await Promise.all([
      everywhere(
        OBSERVED_GROUP,
        OBSERVED_VERSION,
        OBSERVED_PLURAL,
        (o) => store.setObserved(o),
        (o) => store.deleteObserved(o),
      ),
      this.informers.watch(
        "namespaces",
        "/api/v1/namespaces",
        (page) => core.listNamespace(page) as unknown as ReturnType<Listed>,
        (o) => store.setNamespace(o),
        (o) => store.deleteNamespace(o),
      ),
      this.informers.watch(
        "leases",
        `/apis/coordination.k8s.io/v1/namespaces/${this.collectorNamespace}/leases`,
        (page) =>
          coordination.listNamespacedLease({
            namespace: this.collectorNamespace,
            fieldSelector: `metadata.name=${LEASE_NAME}`,
            ...page,
          }) as unknown as ReturnType<Listed>,
        (o) => store.setLease(o),
        (o) => store.deleteLease(o),
        { query: { fieldSelector: `metadata.name=${LEASE_NAME}` } },
      ),
    ]);
    this.informers.allStarted();
  }

  /** Every cache lists again, as after expired watches (the benchmark's relist). */
  relist(): Promise<void> {
    return this.informers.expire();
  }

  async stop(): Promise<void> {
    clearInterval(this.rediscover);
    await this.informers.stop();
  }
}
