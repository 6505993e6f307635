import type { TargetV2 } from "../targets.js";

/** A one-line label for a v2beta1 target: "api.openai.com", "10.0.0.0/8", "kubernetes redis.dev (Deployment)". */
export function targetLabel(t: TargetV2): string {
  if ("internet" in t) {
    return [...(t.internet.domains ?? []), ...(t.internet.ips ?? [])].join(", ");
  }
  if ("kubernetes" in t) {
    return `kubernetes ${t.kubernetes.name}${t.kubernetes.kind ? ` (${t.kubernetes.kind})` : ""}`;
  }
  if ("service" in t) return `service ${t.service.name}`;
  if ("kafka" in t) return `kafka ${t.kafka.name}`;
  if ("aws" in t) return `aws ${t.aws.arn}`;
  if ("gcp" in t) return `gcp ${t.gcp.resource}`;
  if ("azure" in t) return `azure ${t.azure.scope}`;
  return `sql ${t.sql.name}`;
}

export function targetPorts(t: TargetV2): string {
  const ports = "internet" in t ? t.internet.ports : undefined;
  return ports && ports.length > 0 ? ports.join(",") : "-";
}

/** The label with its ports, if any: "api.openai.com (port 443)", "x.io (ports 80, 443)". */
export function targetWithPorts(t: TargetV2): string {
  const ports = "internet" in t ? (t.internet.ports ?? []) : [];
  const label = targetLabel(t);
  if (ports.length === 0) return label;
  return `${label} (port${ports.length === 1 ? "" : "s"} ${ports.join(", ")})`;
}
