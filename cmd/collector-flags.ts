import type { FlagSpec } from "../src/cli/command-line.js";
import { DEFAULT_NAMESPACE, DEFAULT_WINDOW } from "../src/cli/defaults.js";
import { API_BURST, API_QPS, LAST_SEEN_GRANULARITY } from "../collector/collector.js";

/** The collector's flags: one declaration each, which parsing and --help both read. */
export const FLAGS: FlagSpec[] = [
  { name: "kubeconfig", kind: "string", usage: "kubeconfig (default: in-cluster or $KUBECONFIG)" },
  {
    name: "dnstap-listen",
    kind: "string",
    usage: "address for CoreDNS's dnstap (Frame Streams over TCP)",
    default: ":6000",
  },
  { name: "dnstap-socket", kind: "string", usage: "also accept dnstap on this unix socket" },
  {
    name: "listen",
    kind: "string",
    usage: "address for /healthz, /readyz and /metrics",
    default: ":8080",
  },
  {
    name: "sniffer-listen",
    kind: "string",
    usage:
      "accept Otterize sniffer reports (POST /query) on this address; off unless given " +
      "(admit only the sniffer's pods to it)",
  },
  {
    name: "cluster-domain",
    kind: "list",
    usage: "a DNS zone of the cluster's own names (repeatable, or comma-separated)",
    default: "cluster.local",
  },
  {
    name: "namespace",
    kind: "string",
    usage: "the collector's namespace (where its Lease is kept)",
    default: DEFAULT_NAMESPACE,
  },
  {
    name: "identity",
    kind: "string",
    usage: "this replica's name in the Lease (default: $POD_NAME or the host name)",
  },
  {
    name: "flush-interval",
    kind: "string",
    usage: "how often changes are written",
    default: "10s",
  },
  {
    name: "last-seen-granularity",
    kind: "string",
    usage:
      "a destination's lastSeen is written when it moved by more than this (so it is up to " +
      "twice this behind): with steady egress, each workload is written about once per period",
    default: LAST_SEEN_GRANULARITY,
  },
  {
    name: "api-qps",
    kind: "string",
    usage: "requests a second to the API server for writes and garbage collection",
    default: String(API_QPS),
  },
  {
    name: "api-burst",
    kind: "string",
    usage: "requests to the API server at once, beyond --api-qps",
    default: String(API_BURST),
  },
  {
    name: "dns-service",
    kind: "string",
    usage: "the cluster DNS Service, NAMESPACE/NAME: its pods are the DNS servers to hear",
    default: "kube-system/kube-dns",
  },
  {
    name: "node-local-dns",
    kind: "string",
    usage:
      "NodeLocal DNSCache pods, NAMESPACE/KEY=VALUE[,…] (a label selector), or none: where one " +
      "runs, its node's pods ask it, and it must report too",
    default: "kube-system/k8s-app=node-local-dns",
  },
  {
    name: "window",
    kind: "string",
    usage:
      "the verdict window: an ObservedEgress whose workload is gone and that was not updated " +
      "for this long is removed",
    default: DEFAULT_WINDOW,
  },
  {
    name: "gc-interval",
    kind: "string",
    usage: "how often ObservedEgress of gone workloads are looked for",
    default: "1h",
  },
  {
    name: "coverage-interval",
    kind: "string",
    usage: "how often coverage (which DNS servers are heard) is evaluated",
    default: "10s",
  },
  {
    name: "lease-interval",
    kind: "string",
    usage: "how often the Lease is renewed",
    default: "30s",
  },
];
