import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  type KubeConfig,
  type KubernetesObject,
} from "@kubernetes/client-node";
import { objectKey } from "../src/k8s-objects.js";
import {
  endpointSliceRecord,
  observeDnstap,
  observeResolution,
  serviceRecord,
  ServiceIndex,
  type AttributionContext,
  type Outcome,
  type Resolution,
} from "../src/collector/attribute.js";
import { PendingAnswers } from "../src/collector/pending.js";
import {
  hearing,
  stepCoverage,
  unheardServers,
  dnsServersOf,
  type CoverageRecord,
  type DnsServers,
} from "../src/collector/coverage.js";
import {
  declaredEntries,
  declaringIntents,
  type DeclaringIntents,
} from "../src/collector/declared.js";
import { DnsMessageError } from "../src/collector/dns-message.js";
import { decodeDnstap, DnstapError } from "../src/collector/dnstap.js";
import {
  DEFAULT_LIMITS,
  EgressState,
  workloadKey,
  type Limits,
} from "../src/collector/egress-state.js";
import { formatDuration } from "../src/duration.js";
import {
  ownerOf,
  otterizeName,
  parseOwnerKey,
  podRecord,
  PodIpIndex,
  withIdentity,
  FETCHED_OWNER_KINDS,
  type OwnerReference,
  type PodRecord,
  type WorkloadIdentity,
} from "../src/collector/pods.js";
import { parseSnifferRequest, snifferOutcomes, snifferResponse } from "../src/collector/sniffer.js";
import { INTENTS_GROUP, INTENTS_NEWEST, INTENTS_PLURAL } from "../src/client-intents.js";
import { InputError } from "../src/errors.js";
import type { Obj } from "../src/shape.js";
import { InformerSet, type Listed, type Log } from "../server/informer.js";
import { Leases, replicaLeaseName } from "./lease.js";
import { CollectorMetrics } from "./metrics.js";
import { ApiRate } from "./api-rate.js";
import { Flusher } from "./flusher.js";
import { Publisher } from "./publisher.js";
import {
  OBSERVED_GROUP as GROUP,
  OBSERVED_PLURAL as PLURAL,
  OBSERVED_VERSION as VERSION,
} from "../src/observed-egress.js";
import { goneSince } from "../src/collector/gone.js";

export interface CollectorOptions {
  readonly kc: KubeConfig;
  /** The cluster's DNS zones (--cluster-domain). */
  readonly clusterDomains: readonly string[];
  /** Where the Lease lives (the collector's own namespace). */
  readonly namespace: string;
  /** This replica's name, as the Lease's holder. */
  readonly identity: string;
  readonly flushIntervalMs: number;
  /** Requests a second (and at once) to the API server for writes and garbage collection. */
  readonly apiRate?: { readonly perSecond: number; readonly burst: number };
  readonly leaseIntervalMs?: number;
  readonly limits?: Limits;
  readonly log: Log;
  readonly now?: () => number;
  /** The cluster DNS Service (--dns-service): its pods are the servers to hear. */
  readonly dnsService?: { readonly namespace: string; readonly name: string };
  /** NodeLocal DNSCache pods (--node-local-dns); undefined: none. */
  readonly nodeLocalDns?: {
    readonly namespace: string;
    readonly selector: Readonly<Record<string, string>>;
  };
  /** The verdict window: ObservedEgress of workloads gone and quiet for longer are removed. */
  readonly windowMs?: number;
  /** How often such objects are looked for. */
  readonly gcIntervalMs?: number;
  /** How often coverage is evaluated. */
  readonly coverageIntervalMs?: number;
  /** The addresses of the DNS servers with a dnstap session to this replica now. */
  readonly sessionPeers?: () => Iterable<string>;
}

/**
 * The collector at run time: informers keep the pod, Service and ClientIntents indexes; dnstap
 * frames and sniffer reports become observations; a timer publishes what changed.
 */
/** How long a written destination stays in memory after its last sighting. */
const RETAIN_MS = 3_600_000;
/**
 * The API rate by default (--api-qps, --api-burst): client-go's kubectl defaults. A write is a
 * GET and a PUT, so 25 workloads a second; with steady egress each workload is written about
 * once per --last-seen-granularity (docs/collector.md).
 */
export const API_QPS = 50;
export const API_BURST = 100;
/** --last-seen-granularity's default, as a flag value. */
export const LAST_SEEN_GRANULARITY = formatDuration(DEFAULT_LIMITS.granularityMs);

/**
 * How long an answer from an address no known pod has waits for the pod informer: a pod's IP
 * is in its status a moment after the pod can use it, and reaches us a moment later still.
 */
const HOLD_MS = 10_000;
/** A replica's Lease not renewed for this long belongs to a replica that is gone. */
const STALE_REPLICA_MS = 3_600_000;
/** At most this many answers wait at once (about 200 bytes each). */
const PENDING_MAX = 20_000;

type Source = "dnstap" | "sniffer";

export class Collector {
  readonly metrics = new CollectorMetrics();
  readonly pods = new PodIpIndex();
  readonly services = new ServiceIndex();
  readonly state: EgressState;
  /** First owner of ReplicaSets and Jobs (informers) and of the roots read by GET; null: none. */
  private readonly owners = new Map<string, OwnerReference | null>();
  /** Owners to read or being read (GET), by key, and the queue of those to read. */
  private readonly fetching = new Set<string>();
  private readonly fetchQueue: string[] = [];
  private fetchWorkers = 0;
  /** ClientIntents by object key: the workload they declare for, and their items. */
  private readonly intents = new Map<
    string,
    { workload: WorkloadIdentity; entry: DeclaringIntents }
  >();
  private readonly declaredDirty = new Set<string>();
  private readonly identities = new Map<string, WorkloadIdentity>();
  private readonly publisher: Publisher;
  private readonly rate: ApiRate;
  private readonly informers: InformerSet;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly startedAt: number;
  private readonly flusher = new Flusher(() => this.publishDirty());
  private readonly ctx: AttributionContext;
  private readonly now: () => number;
  private readonly pending = new PendingAnswers<{ source: Source; r: Resolution }>(
    HOLD_MS,
    PENDING_MAX,
  );
  private readonly leases: Leases;
  /** Coverage per workload key, as last evaluated. */
  private readonly coverage = new Map<string, CoverageRecord>();
  /** What the other replicas hear (their Leases, as last read). */
  private replicaPeers = new Set<string>();
  /** Every known DNS server is heard (the shared Lease may be renewed). */
  private allHeard = false;
  private unheard: string[] = [];
  /** Whether this replica is the one that removes what is gone (see heartbeat). */
  private collects = true;
  /** A break that was going on when this collector started (see start). */
  private startBreak: { from: number; why: string } | undefined;

  constructor(private readonly opts: CollectorOptions) {
    this.now = opts.now ?? Date.now;
    this.startedAt = this.now();
    this.state = new EgressState(opts.limits);
    this.rate = new ApiRate(
      opts.apiRate?.perSecond ?? API_QPS,
      opts.apiRate?.burst ?? API_BURST,
      (s) => this.metrics.inc("otter_egress_collector_api_wait_seconds_total", "", s),
    );
    this.publisher = new Publisher(opts.kc, this.metrics, opts.log, this.rate, this.state.limits);
    this.informers = new InformerSet(opts.kc, opts.log);
    this.leases = new Leases(opts.kc, opts.namespace);
    this.ctx = { pods: this.pods, services: this.services, clusterDomains: opts.clusterDomains };
    this.metrics.gauge(
      "otter_egress_collector_destinations",
      "Distinct (workload, destination) pairs held in memory.",
      () => this.state.destinationCount(),
    );
    this.metrics.gauge("otter_egress_collector_pods", "Pods indexed by IP.", () => this.pods.size);
    this.metrics.gauge(
      "otter_egress_collector_informers_synced",
      "1 once the pods, their owners, Services and EndpointSlices are known (answers before are held).",
      () => (this.podsKnown ? 1 : 0),
    );
    this.metrics.gauge(
      "otter_egress_collector_dns_servers_unheard",
      "Known DNS servers with no dnstap session to any replica.",
      () => this.unheard.length,
    );
  }

  get ready(): boolean {
    return this.informers.synced();
  }

  /**
   * Whether what coverage needs (pods, their owners, Services and EndpointSlices) is known:
   * not ClientIntents, whose CRD a cluster may not have.
   */
  get podsKnown(): boolean {
    return this.informers.syncedOf(["replicasets", "jobs", "pods", "services", "endpointslices"]);
  }

  /** Owners of ReplicaSets and Jobs, by "Kind:namespace/name". */
  private lookup = (namespace: string, kind: string, name: string) =>
    this.owners.get(`${kind}:${namespace}/${name}`);

  // Counters of the per-frame path, kept at hand.
  private readonly counted = {
    frames: this.metrics.cell("otter_egress_collector_frames_total"),
    dnstap: this.sourceCells("dnstap"),
    sniffer: this.sourceCells("sniffer"),
  };

  private sourceCells(source: string) {
    return {
      observations: this.metrics.cell(
        "otter_egress_collector_observations_total",
        `source="${source}"`,
      ),
      unattributed: this.metrics.cell(
        "otter_egress_collector_unattributed_total",
        `source="${source}"`,
      ),
      unknownClusterNames: this.metrics.cell(
        "otter_egress_collector_unknown_cluster_names_total",
        `source="${source}"`,
      ),
    };
  }

  /**
   * Applies an outcome. An answer whose client no known pod has is held (PendingAnswers) until
   * the pod informer names it, or HOLD_MS passes (while the informers have not synced, until
   * they have): only then is it counted as unattributed.
   */
  private apply(outcome: Outcome, source: Source, retried = false): void {
    if (outcome.kind === "observation") {
      this.state.record(
        source === "sniffer" ? { ...outcome.observation, reported: true } : outcome.observation,
      );
      for (const o of outcome.more ?? []) {
        this.state.record(source === "sniffer" ? { ...o, reported: true } : o);
      }
      this.counted[source].observations.n++;
    } else if (outcome.kind === "unattributed") {
      if (outcome.retry && !retried) {
        const now = this.now();
        for (const lost of this.pending.add(
          outcome.retry.clientIp,
          { source, r: outcome.retry },
          now,
        )) {
          this.counted[lost.source].unattributed.n++;
        }
      } else this.counted[source].unattributed.n++;
    } else if (outcome.kind === "unknown-cluster-name") {
      this.counted[source].unknownClusterNames.n++;
    }
  }

  /** Held answers of a pod's addresses, attributed now that the pod is known. */
  private claimPending(ips: readonly string[]): void {
    for (const ip of ips) {
      for (const { source, r } of this.pending.take(ip)) {
        this.apply(observeResolution(this.ctx, r.clientIp, r.name, r.ips, r.timeMs), source, true);
      }
    }
  }

  private expirePending(): void {
    // Before the informers have synced, nothing is known yet: keep holding (bounded).
    if (!this.ready) return;
    for (const { source, r } of this.pending.expire(this.now())) {
      // The pod may be known by now with an owner that is not: its provisional identity then.
      this.apply(
        observeResolution(this.ctx, r.clientIp, r.name, r.ips, r.timeMs, true),
        source,
        true,
      );
    }
  }

  /** One dnstap data frame, buf[start, end) (only valid during the call). */
  handleFrame(buf: Buffer, start: number, end: number): void {
    this.counted.frames.n++;
    try {
      const m = decodeDnstap(buf, start, end);
      if (m) this.apply(observeDnstap(this.ctx, m, this.now()), "dnstap");
    } catch (e) {
      if (e instanceof DnstapError) {
        this.metrics.inc("otter_egress_collector_decode_errors_total", 'stage="dnstap"');
      } else if (e instanceof DnsMessageError) {
        this.metrics.inc("otter_egress_collector_decode_errors_total", 'stage="dns"');
      } else throw e;
    }
  }

  /** A sniffer GraphQL request body; returns the GraphQL answer. */
  handleSniffer(body: unknown): Obj {
    const request = parseSnifferRequest(body);
    if (typeof request === "string") {
      this.metrics.inc("otter_egress_collector_decode_errors_total", 'stage="sniffer"');
      return snifferResponse(request);
    }
    const noRoom = this.state.noRoom;
    for (const o of snifferOutcomes(this.ctx, request, this.now())) {
      if (o.kind === "connection") {
        this.state.recordConnection(o.workload, o.ip, o.port, o.timeMs);
        this.counted.sniffer.observations.n++;
      } else this.apply(o, "sniffer");
    }
    const full = this.state.noRoom - noRoom;
    if (full > 0) {
      this.metrics.inc("otter_egress_collector_items_dropped_total", 'reason="full"', full);
    }
    return snifferResponse(request);
  }

  private onPod(o: KubernetesObject): void {
    const record = podRecord(o as Obj, this.lookup);
    if (record) this.index(record);
  }

  /** Indexes a pod as the pod informer delivers it (public for the benchmarks). */
  index(record: PodRecord): void {
    this.pods.set(record);
    if (this.pending.size > 0 && record.unresolved === undefined) this.claimPending(record.ips);
    if (!record.hostNetwork && record.endMs === undefined) {
      this.state.watch(record.workload, Math.max(this.startedAt, record.startMs));
      this.identities.set(workloadKey(record.workload), record.workload);
    }
    const top = record.chain[record.chain.length - 1];
    if (top !== undefined) {
      const [kind, , name] = parseOwnerKey(top);
      if (this.lookup(record.namespace, kind, name) === undefined) this.fetchOwner(top);
    }
  }

  /** Owners read by GET that no pod names any more are forgotten (read again if needed). */
  private pruneOwners(): void {
    for (const key of this.owners.keys()) {
      if (FETCHED_OWNER_KINDS.has(parseOwnerKey(key)[0]) && this.pods.withOwner(key).length === 0) {
        this.owners.delete(key);
      }
    }
  }

  /** An owner changed (or became known): its pods are named again. */
  private ownerChanged(key: string): void {
    for (const pod of this.pods.withOwner(key)) {
      const again = { ...pod, ...withIdentity(pod.source, this.lookup) };
      if (again.unresolved === undefined) delete (again as { unresolved?: string }).unresolved;
      this.index(again);
    }
  }

  /**
   * Reads the owner of a Deployment, StatefulSet, DaemonSet or CronJob (as Otterize does): one
   * GET per object, at most 4 at once; a missing or forbidden one is a root.
   */
  private fetchOwner(key: string): void {
    if (!FETCHED_OWNER_KINDS.has(parseOwnerKey(key)[0]) || this.fetching.has(key)) return;
    this.fetching.add(key);
    this.fetchQueue.push(key);
    while (this.fetchWorkers < 4 && this.fetchQueue.length > 0) {
      this.fetchWorkers++;
      void this.drainFetches().finally(() => this.fetchWorkers--);
    }
  }

  private async drainFetches(): Promise<void> {
    for (let key = this.fetchQueue.shift(); key !== undefined; key = this.fetchQueue.shift()) {
      const [kind, namespace, name] = parseOwnerKey(key);
      try {
        const meta = await this.readMetadata(kind, namespace, name);
        const up = meta === undefined ? null : (ownerOf(meta) ?? null);
        this.owners.set(key, up);
        if (up) this.ownerChanged(key);
      } catch (e) {
        this.opts.log({
          level: "warn",
          msg: "could not read an owner",
          owner: key,
          error: String(e),
        });
      } finally {
        this.fetching.delete(key);
      }
    }
  }

  private async readMetadata(kind: string, namespace: string, name: string): Promise<unknown> {
    const kc = this.opts.kc;
    const args = { namespace, name };
    try {
      const o =
        kind === "CronJob"
          ? await kc.makeApiClient(BatchV1Api).readNamespacedCronJob(args)
          : kind === "StatefulSet"
            ? await kc.makeApiClient(AppsV1Api).readNamespacedStatefulSet(args)
            : kind === "DaemonSet"
              ? await kc.makeApiClient(AppsV1Api).readNamespacedDaemonSet(args)
              : await kc.makeApiClient(AppsV1Api).readNamespacedDeployment(args);
      return o.metadata;
    } catch (e) {
      const code = (e as { code?: number }).code;
      if (code === 404 || code === 403) return undefined;
      throw e;
    }
  }

  private onIntents(o: KubernetesObject, deleted: boolean): void {
    const key = objectKey(o);
    const old = this.intents.get(key);
    if (old) this.declaredDirty.add(workloadKey(old.workload));
    this.intents.delete(key);
    if (deleted) return;
    try {
      const declaring = declaringIntents(o as Obj);
      this.intents.set(key, declaring);
      this.declaredDirty.add(workloadKey(declaring.workload));
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      this.opts.log({
        level: "warn",
        msg: "ignoring invalid ClientIntents",
        object: key,
        error: e.message,
      });
    }
  }

  async start(): Promise<void> {
    const kc = this.opts.kc;
    const core = kc.makeApiClient(CoreV1Api);
    const apps = kc.makeApiClient(AppsV1Api);
    const batch = kc.makeApiClient(BatchV1Api);
    const discovery = kc.makeApiClient(DiscoveryV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);
    const asListed = (p: Promise<unknown>) => p as ReturnType<Listed>;
    const owner = (kind: string) => ({
      onChange: (o: KubernetesObject) => {
        const up = ownerOf(o.metadata) ?? null;
        const key = `${kind}:${objectKey(o)}`;
        const before = this.owners.get(key);
        this.owners.set(key, up);
        // Most updates are status: only a new or changed owner names pods again.
        if (before === undefined || before?.kind !== up?.kind || before?.name !== up?.name) {
          this.ownerChanged(key);
        }
      },
      onDelete: (o: KubernetesObject) => this.owners.delete(`${kind}:${objectKey(o)}`),
    });
    const rs = owner("ReplicaSet");
    const jobs = owner("Job");
    // Owners first: a pod's workload is computed when the pod arrives.
    await Promise.all([
      this.informers.watch(
        "replicasets",
        "/apis/apps/v1/replicasets",
        (page) => asListed(apps.listReplicaSetForAllNamespaces(page)),
        rs.onChange,
        rs.onDelete,
      ),
      this.informers.watch(
        "jobs",
        "/apis/batch/v1/jobs",
        (page) => asListed(batch.listJobForAllNamespaces(page)),
        jobs.onChange,
        jobs.onDelete,
      ),
    ]);
    await Promise.all([
      this.informers.watch(
        "pods",
        "/api/v1/pods",
        (page) => asListed(core.listPodForAllNamespaces(page)),
        (o) => this.onPod(o),
        (o) => this.pods.gone(String(o.metadata?.uid ?? ""), this.now()),
        // A pod that vanished during a relist is reported by its uid.
        { keepUid: true },
      ),
      this.informers.watch(
        "services",
        "/api/v1/services",
        (page) => asListed(core.listServiceForAllNamespaces(page)),
        (o) => this.services.setService(serviceRecord(o)),
        (o) => {
          const s = serviceRecord(o);
          this.services.deleteService(s.namespace, s.name);
        },
      ),
      this.informers.watch(
        "endpointslices",
        "/apis/discovery.k8s.io/v1/endpointslices",
        (page) => asListed(discovery.listEndpointSliceForAllNamespaces(page)),
        (o) => this.services.setSlice(objectKey(o), endpointSliceRecord(o)),
        (o) => this.services.setSlice(objectKey(o), undefined),
      ),
      this.informers.watch(
        INTENTS_PLURAL,
        `/apis/${INTENTS_GROUP}/${INTENTS_NEWEST}/${INTENTS_PLURAL}`,
        (page) =>
          asListed(
            custom.listClusterCustomObject({
              group: INTENTS_GROUP,
              version: INTENTS_NEWEST,
              plural: INTENTS_PLURAL,
              ...page,
            }),
          ),
        (o) => this.onIntents(o, false),
        (o) => this.onIntents(o, true),
      ),
    ]);
    // Ready once every one of these has listed (InformerSet.synced).
    this.informers.allStarted();
    this.timers.push(setInterval(() => void this.flush(), this.opts.flushIntervalMs));
    const leaseInterval = this.opts.leaseIntervalMs ?? 30_000;
    // Observation stopped when the last collector stopped renewing its Lease: a break from
    // then, which the first evaluations end (a gap only if it lasted over BREAK_MS in all).
    const last = await this.leases
      .replicas(0, 0)
      .then((r) => r.newest)
      .catch(() => undefined);
    if (last !== undefined && last < this.now()) {
      this.startBreak = { from: last, why: "no collector was running" };
    }
    const heartbeat = () =>
      this.heartbeat(leaseInterval).catch((e: unknown) =>
        this.opts.log({ level: "warn", msg: "could not renew the Leases", error: String(e) }),
      );
    await heartbeat();
    this.timers.push(setInterval(() => void heartbeat(), leaseInterval));
    this.timers.push(
      setInterval(() => this.evaluateCoverage(), this.opts.coverageIntervalMs ?? 10_000),
    );
    this.timers.push(
      setInterval(
        () =>
          void this.collectGarbage().catch((e: unknown) =>
            this.opts.log({
              level: "warn",
              msg: "could not remove old ObservedEgress",
              error: String(e),
            }),
          ),
        this.opts.gcIntervalMs ?? 3_600_000,
      ),
    );
    this.timers.push(
      setInterval(() => {
        this.pods.prune(this.now());
        this.pruneOwners();
      }, 60_000),
    );
    this.timers.push(setInterval(() => this.expirePending(), 1000));
  }

  /**
   * Shares what this replica hears (its own Lease), reads what the others hear, evaluates
   * coverage, and renews the shared Lease only while every known DNS server is heard.
   */
  private async heartbeat(leaseInterval: number): Promise<void> {
    const now = this.now();
    await this.leases.publishPeers(this.opts.identity, [...this.localPeers()], now);
    const r = await this.leases.replicas(now - 3 * leaseInterval, now - STALE_REPLICA_MS);
    this.replicaPeers = r.peers;
    // One replica (the first by name) removes what is gone: Leases of replicas that died
    // without removing theirs here, ObservedEgress in collectGarbage.
    this.collects = r.fresh[0] === undefined || r.fresh[0] === replicaLeaseName(this.opts.identity);
    if (this.collects) for (const name of r.stale) await this.leases.remove(name);
    this.evaluateCoverage();
    if (!this.allHeard) return;
    await this.leases.renew(this.opts.identity, now);
  }

  private localPeers(): Iterable<string> {
    return this.opts.sessionPeers?.() ?? [];
  }

  /** The DNS servers pods ask, from the informers. */
  dnsServers(): DnsServers {
    return dnsServersOf(
      this.services,
      this.pods,
      this.opts.dnsService ?? { namespace: "kube-system", name: "kube-dns" },
      this.opts.nodeLocalDns,
    );
  }

  /**
   * Decides every running workload's coverage now: heard, or not and why; a break longer
   * than BREAK_MS becomes a gap. Workloads whose coverage changed are written at the next
   * flush. Records of workloads with no running pod are dropped, with their identities.
   */
  evaluateCoverage(): void {
    if (!this.podsKnown) return;
    const now = this.now();
    const dns = this.dnsServers();
    const heard = new Set(this.replicaPeers);
    for (const ip of this.localPeers()) heard.add(ip);
    const groups = new Map<string, { identity: WorkloadIdentity; pods: PodRecord[] }>();
    for (const p of this.pods.running()) {
      const key = workloadKey(p.workload);
      const g = groups.get(key);
      if (g) g.pods.push(p);
      else groups.set(key, { identity: p.workload, pods: [p] });
    }
    const start = this.startBreak;
    for (const [key, g] of groups) {
      const prev =
        this.coverage.get(key) ??
        (start
          ? { coverage: { state: "full" as const }, breakFrom: start.from, breakWhy: start.why }
          : undefined);
      const step = stepCoverage(prev, hearing(g.pods, dns, heard), now);
      this.coverage.set(key, step.record);
      if (step.changed || step.gap) {
        this.state.cover(g.identity, step.record.coverage, step.gap, step.record.since);
      }
    }
    this.startBreak = undefined;
    // A workload with no running pod keeps a break in progress or a `none` (its pods may come
    // back, heard or not); a full record goes, and so does a break older than the window.
    for (const [key, r] of this.coverage) {
      if (groups.has(key)) continue;
      const window = this.opts.windowMs ?? 168 * 3_600_000;
      if (r.coverage.state === "full" && r.breakFrom === undefined) this.coverage.delete(key);
      else if (r.breakFrom !== undefined && now - r.breakFrom > window) this.coverage.delete(key);
    }
    for (const key of this.identities.keys()) {
      if (groups.has(key) || this.declaredDirty.has(key)) continue;
      // Gone, with nothing seen that is not written: forget it.
      this.state.dropIdle(key);
      if (!this.state.get(key)) this.identities.delete(key);
    }
    const unheard = unheardServers(dns, heard);
    const all = dns.cluster.length > 0 && unheard.length === 0;
    if (all !== this.allHeard || unheard.join() !== this.unheard.join()) {
      this.opts.log(
        all
          ? {
              level: "info",
              msg: "hearing every DNS server",
              servers: dns.cluster.length + dns.nodeLocal.size,
            }
          : {
              level: "warn",
              msg: "not hearing every DNS server: the Lease is not renewed",
              unheard: dns.cluster.length === 0 ? [`no pods behind ${dns.service}`] : unheard,
            },
      );
    }
    this.allHeard = all;
    this.unheard = dns.cluster.length === 0 ? [dns.service] : unheard;
  }

  /**
   * Removes the ObservedEgress of workloads that are gone (no running pod, no ClientIntents in
   * the cluster, no ReplicaSet or Job naming them as owner) and that nothing updated for longer
   * than the window. Read page by page; each delete is conditional on the version read, so an
   * object written meanwhile stays.
   */
  async collectGarbage(): Promise<number> {
    if (!this.ready || !this.collects) return 0;
    const cutoff = this.now() - (this.opts.windowMs ?? 168 * 3_600_000);
    const alive = new Set(this.identities.keys());
    for (const { workload } of this.intents.values()) alive.add(workloadKey(workload));
    const owned = new Set<string>();
    for (const [key, up] of this.owners) {
      const [kind, namespace, name] = parseOwnerKey(key);
      owned.add(`${kind}:${namespace}/${otterizeName(name)}`);
      if (up) owned.add(`${up.kind}:${namespace}/${otterizeName(up.name)}`);
    }
    const api = this.opts.kc.makeApiClient(CustomObjectsApi);
    let removed = 0;
    let token: string | undefined;
    do {
      // Small pages: an object may be up to about 600 KiB.
      let page: { items?: Obj[]; metadata?: { continue?: string } };
      try {
        page = (await api.listClusterCustomObject({
          group: GROUP,
          version: VERSION,
          plural: PLURAL,
          limit: 50,
          ...(token ? { _continue: token } : {}),
        })) as typeof page;
      } catch (e) {
        // The continue token expired (410): the next pass starts over.
        if ((e as { code?: number }).code === 410) break;
        throw e;
      }
      token = page.metadata?.continue || undefined;
      for (const o of page.items ?? []) {
        const gone = goneSince(o, alive, owned);
        if (gone === undefined || gone >= cutoff) continue;
        const meta = o.metadata as { name: string; namespace: string; resourceVersion?: string };
        try {
          await this.rate.call(() =>
            api.deleteNamespacedCustomObject({
              group: GROUP,
              version: VERSION,
              plural: PLURAL,
              namespace: meta.namespace,
              name: meta.name,
              body: { preconditions: { resourceVersion: meta.resourceVersion } },
            }),
          );
          removed++;
          this.metrics.inc("otter_egress_collector_removed_total");
        } catch (e) {
          const code = (e as { code?: number }).code;
          if (code !== 404 && code !== 409) throw e;
        }
      }
    } while (token);
    return removed;
  }

  /** Publishes every workload with a material change; one flush at a time. */
  flush(): Promise<void> {
    return this.flusher.flush();
  }

  private async publishDirty(): Promise<void> {
    const snapshots = new Map(this.state.takeDirty().map((s) => [s.key, s]));
    const keys = new Set([...snapshots.keys(), ...this.declaredDirty]);
    this.declaredDirty.clear();
    const declaredFor = new Map<string, DeclaringIntents[]>();
    for (const { workload, entry } of this.intents.values()) {
      const k = workloadKey(workload);
      if (!keys.has(k)) continue;
      const list = declaredFor.get(k) ?? [];
      list.push(entry);
      declaredFor.set(k, list);
      if (!this.identities.has(k)) this.identities.set(k, workload);
    }
    // Identities are taken now: the coverage tick may prune them while the writes wait.
    const queue = [...keys].flatMap((key) => {
      const identity = snapshots.get(key)?.identity ?? this.identities.get(key);
      return identity ? [{ key, identity }] : [];
    });
    const worker = async () => {
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
        const { key, identity } = next;
        const snapshot = snapshots.get(key);
        try {
          const result = await this.publisher.publish(
            identity,
            snapshot,
            declaredEntries(declaredFor.get(key) ?? []),
            this.now,
            (refused) => this.state.refuse(key, refused.keys),
          );
          this.metrics.inc("otter_egress_collector_writes_total", `result="${result}"`);
          // What is stored and quiet for an hour need not stay in memory (what was skipped
          // is not stored: it stays).
          if (result === "written" || result === "unchanged") {
            this.state.forget(key, this.now() - RETAIN_MS);
          }
        } catch (e) {
          this.metrics.inc("otter_egress_collector_writes_total", 'result="failed"');
          this.opts.log({
            level: "warn",
            msg: "could not write ObservedEgress",
            workload: key,
            error: String(e),
          });
          this.state.markDirty(key);
          this.declaredDirty.add(key);
        }
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
  }

  /** Stops the timers and informers after a last flush of everything held. */
  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    // The last writes are not held to the rate: the grace period is shorter than the queue.
    this.rate.unlimit();
    // A flush in progress read its snapshot before the last answers came: one more after it.
    await this.flusher.final();
    await this.leases.removeReplica(this.opts.identity).catch(() => undefined);
    await this.informers.stop();
  }
}
