import { concatAll } from "./concat.js";
import type { SuggestVersion } from "./suggest-versions.js";
import type { WorkloadRef } from "./diff.js";
import { domainProblem } from "./domain.js";
import { formatIp } from "./ip.js";
import type { Destination, ObservedWorkload } from "./observed-egress.js";
import { clientIntentsObject, InternetGroups } from "./intents-writer.js";
import { qualifiedName } from "./targets.js";

/**
 * ClientIntents that cover every recent observed destination of a workload, in
 * v2beta1 (default) or v1alpha3 syntax.
 */

export { SUGGEST_VERSIONS, type SuggestVersion } from "./suggest-versions.js";

export interface SuggestedWorkload {
  readonly workload: WorkloadRef;
  readonly observed: readonly ObservedWorkload[];
}

/** Groups observations by workload (namespace, name, kind), sorted. */
export function observedWorkloads(observed: readonly ObservedWorkload[]): SuggestedWorkload[] {
  const groups = new Map<string, { workload: WorkloadRef; observed: ObservedWorkload[] }>();
  for (const o of observed) {
    const key = `${o.namespace}/${o.name}/${o.kind ?? ""}`;
    let g = groups.get(key);
    if (!g) {
      const workload = o.kind
        ? { namespace: o.namespace, name: o.name, kind: o.kind }
        : { namespace: o.namespace, name: o.name };
      groups.set(key, (g = { workload, observed: [] }));
    }
    g.observed.push(o);
  }
  return [...groups.values()].sort(
    (a, b) =>
      a.workload.namespace.localeCompare(b.workload.namespace) ||
      a.workload.name.localeCompare(b.workload.name) ||
      (a.workload.kind ?? "").localeCompare(b.workload.kind ?? ""),
  );
}

interface Plan {
  inCluster: Map<string, { name: string; kind?: string }>;
  internet: InternetGroups;
}

function plan(recent: readonly Destination[], all: readonly Destination[]): Plan {
  const inCluster = new Map<string, { name: string; kind?: string }>();
  const byName = new Map<string, Set<number>>();
  const ipOnly: Array<{ ip: string; ports: readonly number[] }> = [];
  const unnameable: Array<{ ips: string[]; ports: readonly number[] }> = [];
  for (const d of recent) {
    if (d.kind === "kubernetes") {
      const name = qualifiedName(d.name, d.namespace);
      inCluster.set(
        `${name}/${d.workloadKind ?? ""}`,
        d.workloadKind ? { name, kind: d.workloadKind } : { name },
      );
    } else if (d.dnsName !== undefined && domainProblem(d.dnsName) === undefined) {
      let ports = byName.get(d.dnsName);
      if (!ports) byName.set(d.dnsName, (ports = new Set()));
      d.ports.forEach((p) => ports.add(p));
    } else if (d.dnsName !== undefined) {
      // A name the CRD would not accept as a domain: declare its IPs instead.
      unnameable.push({ ips: d.ips.map(formatIp), ports: d.ports });
    } else {
      d.ips.forEach((ip) => ipOnly.push({ ip: formatIp(ip), ports: d.ports }));
    }
  }
  const internet = new InternetGroups();
  for (const [name, ports] of byName) internet.add(ports, [name]);
  // An IP-only destination is already covered by a declared name that resolved to it,
  // when that name's ports allow its ports.
  const answers = new Map<string, Set<string>>();
  for (const d of all) {
    if (d.kind !== "internet" || d.dnsName === undefined || !byName.has(d.dnsName)) continue;
    for (const ip of d.ips) {
      const ipText = formatIp(ip);
      let names = answers.get(ipText);
      if (!names) answers.set(ipText, (names = new Set()));
      names.add(d.dnsName);
    }
  }
  for (const { ip, ports } of ipOnly) {
    const covered = [...(answers.get(ip) ?? [])].some((name) => {
      const allowed = byName.get(name) as Set<number>;
      return allowed.size === 0 || ports.every((p) => allowed.has(p));
    });
    if (!covered) internet.add(ports, [], [ip]);
  }
  for (const { ips, ports } of unnameable) internet.add(ports, [], ips);
  return { inCluster, internet };
}

/** A ClientIntents object (plain data) for one workload. */
export function suggestIntents(
  w: SuggestedWorkload,
  opts: { now: number; windowMs: number; apiVersion: SuggestVersion },
): Record<string, unknown> {
  const all = concatAll(w.observed.map((o) => o.destinations));
  const recent = all.filter((d) => d.lastSeen >= opts.now - opts.windowMs);
  const p = plan(recent, all);
  const inCluster = [...p.inCluster.values()].sort((a, b) => a.name.localeCompare(b.name));
  return clientIntentsObject(
    w.workload,
    [...inCluster.map((t) => ({ kubernetes: t })), ...p.internet.targets()],
    opts.apiVersion,
  );
}
