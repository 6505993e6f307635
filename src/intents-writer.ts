import { INTENTS_GROUP } from "./client-intents.js";
import type { WorkloadRef } from "./diff.js";
import type { TargetV2 } from "./targets.js";

/**
 * Writing ClientIntents, as `suggest` and `diff --fix` do: internet targets grouped by their
 * ports as a person would write them, and any target in the syntax of a ClientIntents version.
 */

function portsKey(ports: Iterable<number>): string {
  return sortedPorts(ports).join(",");
}

function sortedPorts(ports: Iterable<number>): number[] {
  return [...new Set(ports)].sort((a, b) => a - b);
}

/** Internet egress collected into one target per set of ports. */
export class InternetGroups {
  private readonly groups = new Map<
    string,
    { ports: number[]; domains: Set<string>; ips: Set<string> }
  >();

  add(ports: Iterable<number>, domains: Iterable<string> = [], ips: Iterable<string> = []): void {
    const key = portsKey(ports);
    let g = this.groups.get(key);
    if (!g) {
      g = { ports: sortedPorts(ports), domains: new Set(), ips: new Set() };
      this.groups.set(key, g);
    }
    for (const d of domains) g.domains.add(d);
    for (const ip of ips) g.ips.add(ip);
  }

  /** One target per set of ports (ordered by ports), names and addresses sorted. */
  targets(): TargetV2[] {
    return [...this.groups.values()]
      .filter((g) => g.domains.size > 0 || g.ips.size > 0)
      .sort((a, b) => a.ports.join(",").localeCompare(b.ports.join(",")))
      .map((g) => ({
        internet: {
          ...(g.domains.size > 0 ? { domains: [...g.domains].sort() } : {}),
          ...(g.ips.size > 0 ? { ips: [...g.ips].sort() } : {}),
          ...(g.ports.length > 0 ? { ports: g.ports } : {}),
        },
      }));
  }
}

/** "redis.dev" written in namespace dev is "redis". */
function localName(name: string, namespace: string | undefined): string {
  return namespace !== undefined && name.endsWith(`.${namespace}`)
    ? name.slice(0, -namespace.length - 1)
    : name;
}

/**
 * A v2beta1 target in the syntax of a ClientIntents version (`v2…` targets, `v1…` calls), or
 * undefined when that version cannot say it (v1alpha2 has no internet calls). With `namespace`,
 * names in that namespace are written without it.
 */
export function targetInVersion(t: TargetV2, version: string, namespace?: string): unknown {
  const v2 = version.startsWith("v2");
  if ("kubernetes" in t) {
    const name = localName(t.kubernetes.name, namespace);
    const kind = t.kubernetes.kind;
    const body = kind && version !== "v1alpha2" ? { name, kind } : { name };
    return v2 ? { kubernetes: body } : body;
  }
  if ("internet" in t) {
    if (v2) return t;
    return version === "v1alpha2" ? undefined : { type: "internet", internet: t.internet };
  }
  return undefined;
}

/** A ClientIntents object (plain data) for one workload, in v2beta1 or v1alpha3. */
export function clientIntentsObject(
  w: WorkloadRef,
  targets: readonly TargetV2[],
  version: "v2beta1" | "v1alpha3",
): Record<string, unknown> {
  const metadata = { name: w.name, namespace: w.namespace };
  const client = w.kind ? { name: w.name, kind: w.kind } : { name: w.name };
  const written = targets.map((t) => targetInVersion(t, version));
  return {
    apiVersion: `${INTENTS_GROUP}/${version}`,
    kind: "ClientIntents",
    metadata,
    spec:
      version === "v2beta1"
        ? { workload: client, targets: written }
        : { service: client, calls: written },
  };
}
