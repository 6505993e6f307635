import { CoordinationV1Api, type KubeConfig, type V1Lease } from "@kubernetes/client-node";
import { LEASE_NAME } from "../src/collector-lease.js";

/**
 * Leases in the collector's namespace:
 * - `otter-egress-collector` tells the plugin and the webhook the collector hears every DNS
 *   server (silence only counts while it is fresh). Any replica renews it, and only then.
 * - `otter-egress-collector-<replica>`, one per replica, lists the DNS servers (their
 *   addresses) that have a dnstap session to that replica: replicas share what they hear, so
 *   a server connected to either one counts.
 */

export const REPLICA_LABEL = "egress.otter.dev/collector-replica";
export const PEERS_ANNOTATION = "egress.otter.dev/dnstap-peers";

const code = (e: unknown) => (e as { code?: number }).code;

/** RFC 3339 with microseconds, as the API server's MicroTime wants it. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** A time read back (a Date) written again with six fractional digits. */
function asMicroTime(t: unknown): Date | undefined {
  if (t instanceof Date) return microTime(t.getTime()) as unknown as Date;
  return undefined;
}

function timeOf(t: unknown): number | undefined {
  const ms = t instanceof Date ? t.getTime() : typeof t === "string" ? Date.parse(t) : NaN;
  return Number.isNaN(ms) ? undefined : ms;
}

/** A replica's Lease name: its identity made a valid object name. */
export function replicaLeaseName(identity: string): string {
  const safe = identity
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, "-")
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, "");
  return `${LEASE_NAME}-${safe || "replica"}`.slice(0, 253).replace(/[^a-z0-9]+$/, "");
}

export class Leases {
  private readonly api: CoordinationV1Api;

  constructor(
    kc: KubeConfig,
    private readonly namespace: string,
  ) {
    this.api = kc.makeApiClient(CoordinationV1Api);
  }

  private async read(name: string): Promise<V1Lease | undefined> {
    try {
      return await this.api.readNamespacedLease({ name, namespace: this.namespace });
    } catch (e) {
      if (code(e) === 404) return undefined;
      throw e;
    }
  }

  private async upsert(
    name: string,
    holder: string,
    now: number,
    meta: { labels?: Record<string, string>; annotations?: Record<string, string> } = {},
  ): Promise<void> {
    // The generated client passes strings through; MicroTime needs six fractional digits.
    const renewTime = microTime(now) as unknown as Date;
    const lease = await this.read(name);
    if (!lease) {
      await this.api.createNamespacedLease({
        namespace: this.namespace,
        body: {
          metadata: { name, namespace: this.namespace, ...meta },
          spec: {
            holderIdentity: holder,
            leaseDurationSeconds: 30,
            acquireTime: renewTime,
            renewTime,
          },
        },
      });
      return;
    }
    await this.api.replaceNamespacedLease({
      name,
      namespace: this.namespace,
      body: {
        ...lease,
        metadata: {
          ...lease.metadata,
          labels: { ...lease.metadata?.labels, ...meta.labels },
          annotations: { ...lease.metadata?.annotations, ...meta.annotations },
        },
        spec: {
          ...lease.spec,
          holderIdentity: holder,
          leaseDurationSeconds: 30,
          acquireTime: asMicroTime(lease.spec?.acquireTime) ?? renewTime,
          renewTime,
        },
      },
    });
  }

  /** Renews the shared Lease: the collector hears every DNS server it knows of. */
  renew(holder: string, now: number): Promise<void> {
    return this.upsert(LEASE_NAME, holder, now);
  }

  /** Publishes the addresses of the DNS servers that have a session to this replica. */
  publishPeers(identity: string, peers: readonly string[], now: number): Promise<void> {
    return this.upsert(replicaLeaseName(identity), identity, now, {
      labels: { [REPLICA_LABEL]: "true" },
      annotations: { [PEERS_ANNOTATION]: [...peers].sort().join(",") },
    });
  }

  /**
   * What the replicas' Leases say: the addresses heard by those renewed since `freshAfter`,
   * their Lease names, the newest renewal of any (when a collector was last alive), and the
   * names of those not renewed since `staleAfter` (replicas that died without removing theirs).
   */
  async replicas(
    freshAfter: number,
    staleAfter: number,
  ): Promise<{ peers: Set<string>; fresh: string[]; newest?: number; stale: string[] }> {
    const list = await this.api.listNamespacedLease({
      namespace: this.namespace,
      labelSelector: `${REPLICA_LABEL}=true`,
    });
    const peers = new Set<string>();
    const fresh: string[] = [];
    const stale: string[] = [];
    let newest: number | undefined;
    for (const lease of list.items) {
      const name = lease.metadata?.name ?? "";
      const t = timeOf(lease.spec?.renewTime);
      if (t !== undefined && (newest === undefined || t > newest)) newest = t;
      if (t === undefined || t < staleAfter) stale.push(name);
      if (t === undefined || t < freshAfter) continue;
      fresh.push(name);
      const text = lease.metadata?.annotations?.[PEERS_ANNOTATION] ?? "";
      for (const ip of text.split(",")) if (ip !== "") peers.add(ip);
    }
    return { peers, fresh: fresh.sort(), stale, ...(newest !== undefined ? { newest } : {}) };
  }

  /** Removes a replica's Lease by its name (its replica is gone). */
  async remove(name: string): Promise<void> {
    try {
      await this.api.deleteNamespacedLease({ name, namespace: this.namespace });
    } catch (e) {
      if (code(e) !== 404) throw e;
    }
  }

  /** This replica stops: its Lease goes, so nobody counts what it heard. */
  removeReplica(identity: string): Promise<void> {
    return this.remove(replicaLeaseName(identity));
  }
}
