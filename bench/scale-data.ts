/** Generated workloads for `npm run bench:scale` and its checks. */

export const DESTINATIONS = 30;
export const NAMESPACES = 50;

const ts = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
const ip = (n: number) => `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;

/** Workload w's ObservedEgress status and ClientIntents, shaped like generated benchmark data. */
export function workload(w: number, now: number) {
  const ns = `team-${w % NAMESPACES}`;
  const name = `svc-${w}`;
  const destinations: object[] = [];
  const targets: object[] = [];
  const declared: object[] = [];
  const since = ts(now - 30 * 86_400_000);
  for (let d = 0; d < DESTINATIONS; d++) {
    // Times differ from destination to destination, as the collector's do (within an hour).
    const jitter = (((w * DESTINATIONS + d) * 7919) % 3600) * 1000;
    const seen = {
      firstSeen: ts(now - 30 * 86_400_000 - jitter),
      lastSeen: ts(now - (d % 10 === 9 ? 40 : 1) * 3_600_000 - jitter),
    };
    if (d % 6 === 5) {
      const k = { name: `dep-${d}`, namespace: ns, kind: "Deployment", service: `dep-${d}` };
      destinations.push({ kubernetes: { ...k, ports: [8080] }, ...seen });
      if (d % 4 !== 0) targets.push({ kubernetes: { name: `dep-${d}`, kind: "Deployment" } });
    } else if (d % 6 === 4) {
      const a = ip(w * DESTINATIONS + d);
      destinations.push({ internet: { ips: [a], ports: [443] }, ...seen });
      targets.push({ internet: { ips: [`${a}/32`], ports: [443] } });
    } else {
      const host = `api-${d}.vendor-${w % 97}.example.com`;
      const ips = [ip(w * DESTINATIONS + d), ip(w * DESTINATIONS + d + 1)];
      destinations.push({ internet: { dnsName: host, ips, ports: [443] }, ...seen });
      if (d % 7 !== 3) targets.push({ internet: { domains: [host], ports: [443] } });
      declared.push({ target: { internet: { domains: [host] } }, since });
    }
  }
  targets.push({ internet: { domains: [`*.unused-${w}.example.org`] } });
  return {
    ns,
    name,
    status: {
      observingSince: since,
      coverage: { state: "full" },
      updatedAt: ts(now),
      destinations,
      declared,
    },
    intents: {
      apiVersion: "k8s.otterize.com/v2beta1",
      kind: "ClientIntents",
      metadata: { name, namespace: ns },
      spec: { workload: { name, kind: "Deployment" }, targets },
    },
  };
}
