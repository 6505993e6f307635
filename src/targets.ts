import { BoundedMap } from "./bounded-map.js";
import { declaredDomain } from "./domain.js";
import { shared } from "./held.js";
import type { IpNetwork } from "./ip.js";
import type { Source } from "./errors.js";

/**
 * Declared targets, broken down to items: a finding is about one item (one domain,
 * one IP or CIDR, one named in-cluster target), never about a whole target.
 */

export type InClusterForm = "kubernetes" | "service" | "kafka";
export type CloudForm = "aws" | "gcp" | "azure" | "sql";

export interface DomainItem {
  readonly kind: "domain";
  /** Normalised: lower-case ASCII (punycode), no trailing dot; may start with "*.". */
  readonly domain: string;
  readonly ports: readonly number[];
  readonly source: Source;
}

export interface IpItem {
  readonly kind: "ip";
  /** As written in the file ("10.0.0.0/8", "2606:4700::1"). */
  readonly text: string;
  readonly network: IpNetwork;
  readonly ports: readonly number[];
  readonly source: Source;
}

export interface InClusterItem {
  readonly kind: "in-cluster";
  readonly form: InClusterForm;
  readonly name: string;
  readonly namespace: string;
  /** The Kubernetes kind the target names, if any ("Deployment", "Service"). */
  readonly targetKind?: string;
  readonly source: Source;
}

export interface CloudItem {
  readonly kind: "cloud";
  readonly form: CloudForm;
  readonly name: string;
  readonly source: Source;
}

export type DeclaredItem = DomainItem | IpItem | InClusterItem | CloudItem;

/** A target in v2beta1 form, as findings and `suggest` write it. */
export type TargetV2 =
  | { internet: { domains?: string[]; ips?: string[]; ports?: readonly number[] } }
  | { kubernetes: { name: string; kind?: string } }
  | { service: { name: string } }
  | { kafka: { name: string } }
  | { aws: { arn: string } }
  | { gcp: { resource: string } }
  | { azure: { scope: string } }
  | { sql: { name: string } };

export function qualifiedName(name: string, namespace: string): string {
  return `${name}.${namespace}`;
}

/**
 * The item as a v2beta1 target, namespaces explicit. Its ports are the item's own list, often
 * frozen and shared by many items: read them, never edit them in place (YAML is written with
 * `noRefs`, so a shared list is not written as an anchor).
 */
export function itemTarget(item: DeclaredItem): TargetV2 {
  switch (item.kind) {
    case "domain":
      return {
        internet:
          item.ports.length > 0
            ? { domains: [item.domain], ports: item.ports }
            : { domains: [item.domain] },
      };
    case "ip":
      return {
        internet:
          item.ports.length > 0 ? { ips: [item.text], ports: item.ports } : { ips: [item.text] },
      };
    case "in-cluster": {
      const name = qualifiedName(item.name, item.namespace);
      // A Service is written one way, whichever form declared it (v1's `svc:`, v2's
      // `kubernetes` with kind Service, or `service`): one shape per meaning.
      if (item.form === "service" || item.targetKind === "Service") return { service: { name } };
      if (item.form === "kubernetes") {
        return { kubernetes: item.targetKind ? { name, kind: item.targetKind } : { name } };
      }
      return { kafka: { name } };
    }
    case "cloud":
      switch (item.form) {
        case "aws":
          return { aws: { arn: item.name } };
        case "gcp":
          return { gcp: { resource: item.name } };
        case "azure":
          return { azure: { scope: item.name } };
        case "sql":
          return { sql: { name: item.name } };
      }
  }
}

/**
 * Domains' keys, made once each: snapshots and caches key hundreds of thousands of declared
 * domains, most of them the same few names.
 */
const DOMAIN_KEYS_MAX = 100_000;
const domainKeys = new BoundedMap<string, string>(DOMAIN_KEYS_MAX);

function domainKey(domain: string): string {
  let key = domainKeys.get(domain);
  if (key === undefined) {
    key = shared(`domain:${domain}`);
    domainKeys.set(shared(domain), key);
  }
  return key;
}

/**
 * itemKey of the domain item a declared spelling makes ("API.example.com."), or undefined when
 * it is not a valid domain. A spelling that is its normalised form (what the collector writes)
 * is found in domainKeys at once: one lookup where a status's every declared domain is read.
 */
export function declaredDomainKey(raw: string): string | undefined {
  const known = domainKeys.get(raw);
  if (known !== undefined) return known;
  const d = declaredDomain(raw);
  return d.problem === undefined ? domainKey(d.domain) : undefined;
}

/**
 * A key that identifies an item regardless of ports or spelling, used to find when it
 * was first declared (ObservedEgress `status.declared`).
 */
export function itemKey(item: DeclaredItem): string {
  switch (item.kind) {
    case "domain":
      return domainKey(item.domain);
    case "ip":
      return `ip:${item.network.family}:${item.network.base.toString(16)}/${item.network.prefix}`;
    case "in-cluster":
      return `${item.form === "service" || item.targetKind === "Service" ? "service" : item.form}:${item.namespace}/${item.name}:${item.form === "kubernetes" && item.targetKind !== "Service" ? (item.targetKind ?? "") : ""}`;
    case "cloud":
      return `${item.form}:${item.name}`;
  }
}

/** A short human label: "api.openai.com", "10.0.0.0/8", "kubernetes redis.dev". */
export function itemLabel(item: DeclaredItem): string {
  switch (item.kind) {
    case "domain":
      return item.domain;
    case "ip":
      return item.text;
    case "in-cluster": {
      const kind = item.targetKind ? ` (${item.targetKind})` : "";
      return `${item.form} ${qualifiedName(item.name, item.namespace)}${kind}`;
    }
    case "cloud":
      return `${item.form} ${item.name}`;
  }
}
