import type { FlagSpec } from "../src/cli/command-line.js";
import { DEFAULT_FAILING, DEFAULT_NAMESPACE, DEFAULT_WINDOW } from "../src/cli/defaults.js";

/** The webhook's flags: one declaration each, which parsing and --help both read. */
export const FLAGS: FlagSpec[] = [
  { name: "kubeconfig", kind: "string", usage: "kubeconfig (default: in-cluster or $KUBECONFIG)" },
  { name: "port", kind: "string", usage: "HTTPS port", default: "8443" },
  {
    name: "tls-cert",
    kind: "string",
    usage: "serving certificate file (reloaded when it changes)",
  },
  { name: "tls-key", kind: "string", usage: "serving key file" },
  {
    name: "tls-min-version",
    kind: "string",
    usage: "the oldest TLS version served: 1.2 or 1.3",
    default: "1.2",
  },
  {
    name: "register-url",
    kind: "string",
    usage: "register a ValidatingWebhookConfiguration that calls this URL",
  },
  { name: "failure-policy", kind: "string", usage: "Fail or Ignore", default: "Fail" },
  {
    name: "deny-on",
    kind: "string",
    usage: "verdicts that deny",
    default: DEFAULT_FAILING,
  },
  { name: "window", kind: "string", usage: "observation window", default: DEFAULT_WINDOW },
  {
    name: "collector-namespace",
    kind: "string",
    usage: "namespace of the collector Lease",
    default: DEFAULT_NAMESPACE,
  },
  {
    name: "cert-validity",
    kind: "string",
    usage: "lifetime of a generated serving certificate",
    default: "720h",
  },
  {
    name: "service",
    kind: "string",
    usage: "the Service in front of the webhook, named in a generated certificate",
    default: `otter-egress-webhook.${DEFAULT_NAMESPACE}`,
  },
  {
    name: "tls-secret",
    kind: "string",
    usage: "NAMESPACE/NAME of a Secret holding the CA and serving certificate shared by replicas",
  },
  {
    name: "patch-ca-bundle",
    kind: "string",
    usage: "put the CA into this ValidatingWebhookConfiguration's caBundle",
  },
  {
    name: "log-level",
    kind: "string",
    usage: "info: denials and warnings are logged, allowed reviews counted; debug: every review",
    default: "info",
  },
];
