import { formatDuration, formatTimestamp } from "../duration.js";
import type { Destination } from "../observed-egress.js";
import type { SuggestedWorkload } from "../suggest.js";
import { destinationLabel } from "../verdicts.js";
import { columns, paint, type Style } from "./style.js";

/** `egress list`: what was observed, per workload. */

interface ListOptions {
  readonly now: number;
  readonly windowMs: number;
}

function destinationReport(d: Destination, opts: ListOptions) {
  const seen = {
    ...(d.firstSeen === undefined ? {} : { firstSeen: formatTimestamp(d.firstSeen) }),
    lastSeen: formatTimestamp(d.lastSeen),
    recent: d.lastSeen >= opts.now - opts.windowMs,
  };
  if (d.kind === "kubernetes") {
    return {
      kubernetes: {
        name: d.name,
        namespace: d.namespace,
        ...(d.workloadKind ? { kind: d.workloadKind } : {}),
        ...(d.service ? { service: d.service } : {}),
        ...(d.ports.length > 0 ? { ports: [...d.ports] } : {}),
      },
      ...seen,
    };
  }
  return {
    internet: {
      ...(d.dnsName ? { dnsName: d.dnsName } : {}),
      ...(d.ips.length > 0 ? { ips: d.ips.map((ip) => ip.text) } : {}),
      ...(d.ports.length > 0 ? { ports: [...d.ports] } : {}),
    },
    ...seen,
  };
}

export function listReport(workloads: readonly SuggestedWorkload[], opts: ListOptions) {
  return {
    apiVersion: "egress.otter.dev/v1alpha1",
    kind: "EgressList",
    window: formatDuration(opts.windowMs),
    now: formatTimestamp(opts.now),
    workloads: workloads.map((w) => ({
      workload: w.workload,
      destinations: w.observed
        .flatMap((o) => o.destinations)
        .map((d) => destinationReport(d, opts)),
    })),
  };
}

export function renderList(
  workloads: readonly SuggestedWorkload[],
  opts: ListOptions,
  style: Style,
): string {
  if (workloads.length === 0) return "No observed egress in scope.\n";
  const rows = [["NAMESPACE", "WORKLOAD", "KIND", "DESTINATION", "IPS", "PORTS", "LAST SEEN"]];
  for (const w of workloads) {
    for (const d of w.observed.flatMap((o) => o.destinations)) {
      const stale = d.lastSeen < opts.now - opts.windowMs;
      const lastSeen = formatTimestamp(d.lastSeen);
      rows.push([
        w.workload.namespace,
        w.workload.name,
        w.workload.kind ?? "-",
        destinationLabel(d),
        d.kind === "internet" && d.dnsName ? d.ips.map((ip) => ip.text).join(",") || "-" : "-",
        d.ports.length > 0 ? d.ports.join(",") : "-",
        stale ? paint(style, "dim", `${lastSeen} (outside window)`) : lastSeen,
      ]);
    }
  }
  return columns(rows).join("\n") + "\n";
}
