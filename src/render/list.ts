import { formatDuration, formatTimestamp, humanAge } from "../duration.js";
import type { Destination } from "../observed-egress.js";
import type { SuggestedWorkload } from "../suggest.js";
import { destinationLabel } from "../verdicts.js";
import { fitColumns, type Style } from "./style.js";

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
  namespaceColumn = true,
): string {
  if (workloads.length === 0) return "No observed egress in scope.\n";
  const head = style.wide
    ? ["WORKLOAD", "KIND", "DESTINATION", "IPS", "PORTS", "FIRST SEEN", "LAST SEEN"]
    : ["WORKLOAD", "DESTINATION", "PORTS", "LAST SEEN"];
  const rows = [[...(namespaceColumn ? ["NAMESPACE"] : []), ...head]];
  for (const w of workloads) {
    for (const d of w.observed.flatMap((o) => o.destinations)) {
      const stale = d.lastSeen < opts.now - opts.windowMs;
      const lastSeen = style.wide ? formatTimestamp(d.lastSeen) : humanAge(opts.now - d.lastSeen);
      const ports = d.ports.length > 0 ? d.ports.join(",") : "-";
      const cells = style.wide
        ? [
            w.workload.name,
            w.workload.kind ?? "-",
            destinationLabel(d),
            d.kind === "internet" && d.dnsName ? d.ips.map((ip) => ip.text).join(",") || "-" : "-",
            ports,
            d.firstSeen === undefined ? "-" : formatTimestamp(d.firstSeen),
            stale ? `${lastSeen} (outside window)` : lastSeen,
          ]
        : [w.workload.name, destinationLabel(d), ports, stale ? `${lastSeen} (old)` : lastSeen];
      rows.push([...(namespaceColumn ? [w.workload.namespace] : []), ...cells]);
    }
  }
  const destination = rows[0]?.indexOf("DESTINATION") ?? 1;
  const width = style.wide ? undefined : (style.width ?? 80);
  return `${fitColumns(rows, width, { column: destination, min: 24, where: "middle" }).join("\n")}\n`;
}
