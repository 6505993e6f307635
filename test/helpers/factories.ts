import { dump } from "js-yaml";
import { clientIntentsFromDocuments, type ClientIntents } from "../../src/client-intents.js";
import type { DiffInput } from "../../src/diff.js";
import { observedFromDocuments, type ObservedWorkload } from "../../src/observed-egress.js";
import { parseYamlDocuments } from "../../src/yaml-documents.js";

/**
 * Fixture factories: plain Kubernetes objects built from the few fields a test cares
 * about, and the engine's parsed form of them.
 */

export const NOW = Date.parse("2026-11-25T10:00:00Z");
export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
export const WINDOW = 168 * HOUR;

export function iso(ms: number): string {
  return new Date(ms).toISOString().replace(".000Z", "Z");
}

/** A time `ago` milliseconds before NOW, as RFC 3339. */
export function ago(ms: number): string {
  return iso(NOW - ms);
}

type Obj = Record<string, unknown>;

export function internet(
  dnsName: string | undefined,
  ips: string[] = [],
  ports: number[] = [],
  lastSeen = ago(HOUR),
): Obj {
  return {
    internet: {
      ...(dnsName ? { dnsName } : {}),
      ...(ips.length ? { ips } : {}),
      ...(ports.length ? { ports } : {}),
    },
    firstSeen: ago(20 * DAY),
    lastSeen,
  };
}

export function kube(
  name: string,
  namespace: string,
  opts: { kind?: string; service?: string; ports?: number[]; lastSeen?: string } = {},
): Obj {
  return {
    kubernetes: {
      name,
      namespace,
      ...(opts.kind ? { kind: opts.kind } : {}),
      ...(opts.service ? { service: opts.service } : {}),
      ...(opts.ports ? { ports: opts.ports } : {}),
    },
    firstSeen: ago(20 * DAY),
    lastSeen: opts.lastSeen ?? ago(HOUR),
  };
}

export interface ObservedSpec {
  name?: string;
  namespace?: string;
  kind?: string;
  observingSince?: string | null;
  destinations?: Obj[];
  /** [target, since] pairs for status.declared. */
  declared?: Array<[Obj, string]>;
  coverage?: Obj;
  gaps?: Obj[];
}

export function observedEgress(spec: ObservedSpec = {}): Obj {
  const name = spec.name ?? "joke-worker";
  return {
    apiVersion: "egress.otter.dev/v1alpha1",
    kind: "ObservedEgress",
    metadata: { name, namespace: spec.namespace ?? "dev" },
    spec: {
      workload: {
        name,
        ...(spec.kind === undefined
          ? { kind: "Deployment" }
          : spec.kind
            ? { kind: spec.kind }
            : {}),
      },
    },
    status: {
      ...(spec.observingSince === null
        ? {}
        : { observingSince: spec.observingSince ?? ago(30 * DAY) }),
      ...(spec.coverage ? { coverage: spec.coverage } : {}),
      ...(spec.gaps ? { gaps: spec.gaps } : {}),
      destinations: spec.destinations ?? [],
      declared: (spec.declared ?? []).map(([target, since]) => ({ target, since })),
    },
  };
}

export interface IntentsSpec {
  name?: string;
  namespace?: string | null;
  kind?: string;
  version?: "v1alpha2" | "v1alpha3" | "v1beta1" | "v2alpha1" | "v2beta1";
  targets?: Obj[];
}

export function clientIntents(spec: IntentsSpec = {}): Obj {
  const version = spec.version ?? "v2beta1";
  const name = spec.name ?? "joke-worker";
  const metadata = {
    name,
    ...(spec.namespace === null ? {} : { namespace: spec.namespace ?? "dev" }),
  };
  const client = { name, ...(spec.kind ? { kind: spec.kind } : {}) };
  const body = version.startsWith("v2")
    ? { workload: client, targets: spec.targets ?? [] }
    : { service: client, calls: spec.targets ?? [] };
  return { apiVersion: `k8s.otterize.com/${version}`, kind: "ClientIntents", metadata, spec: body };
}

export function yamlStream(objects: readonly unknown[]): string {
  return objects.map((o) => `---\n${dump(o, { lineWidth: -1 })}`).join("");
}

export function parseIntents(objects: readonly unknown[], file = "intents.yaml"): ClientIntents[] {
  return clientIntentsFromDocuments(parseYamlDocuments(yamlStream(objects), file), "default");
}

export function parseObserved(
  objects: readonly unknown[],
  file = "observed.yaml",
): ObservedWorkload[] {
  return observedFromDocuments(parseYamlDocuments(yamlStream(objects), file));
}

/** A diff of intents files as of NOW over the default window, everything in scope. */
export function diffInput(partial: Partial<DiffInput>): DiffInput {
  return {
    intents: [],
    workloadScope: "declared",
    observed: [],
    namespaces: { all: true },
    includeUndeclared: false,
    now: NOW,
    windowMs: WINDOW,
    listening: { state: "snapshot" },
    ...partial,
  };
}
