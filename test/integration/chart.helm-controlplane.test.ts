import { join } from "node:path";
import test from "ava";
import { loadAll } from "js-yaml";
import type { ControlPlane } from "../controlplane/controlplane.js";
import { defaultBinDir } from "../controlplane/controlplane.js";
import { exec, KUBECTL, kubectl, startCluster } from "../helpers/cluster.js";
import { exemptNamespaces, webhookEntries } from "../../src/admission/registration.js";

/**
 * The Helm chart: `helm lint --strict`, what `helm template` renders with default and other
 * values, the values schema, and an install onto the real API server (which validates every
 * object, and warns on anything below the restricted Pod Security Standard).
 */

const HELM = join(defaultBinDir(), "helm");
const CHART = "charts/otter-egress";
type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function render(...flags: string[]): Promise<Obj[]> {
  const r = await exec(HELM, ["template", "rel", CHART, "-n", "egress-system", ...flags]);
  if (r.code !== 0) throw new Error(r.stderr);
  return (loadAll(r.stdout) as Obj[]).filter((o) => o !== null);
}

const byKind = (docs: Obj[], kind: string) => docs.filter((d) => d.kind === kind);
const named = (docs: Obj[], kind: string, name: string) =>
  docs.find((d) => d.kind === kind && d.metadata.name === name) as Obj;

test("helm lint --strict passes, with default values and with others", async (t) => {
  const plain = await exec(HELM, ["lint", "--strict", CHART]);
  t.is(plain.code, 0, plain.stdout + plain.stderr);
  const other = await exec(HELM, [
    "lint",
    "--strict",
    CHART,
    "--set",
    "webhook.failurePolicy=Ignore,collector.networkPolicy.enabled=false,webhook.replicas=3",
  ]);
  t.is(other.code, 0, other.stdout + other.stderr);
});

test("every pod meets the restricted Pod Security Standard", async (t) => {
  const docs = await render();
  const deployments = byKind(docs, "Deployment");
  t.is(deployments.length, 2);
  for (const d of deployments) {
    const pod = d.spec.template.spec;
    t.true(pod.securityContext.runAsNonRoot, d.metadata.name);
    t.is(pod.securityContext.seccompProfile.type, "RuntimeDefault");
    for (const c of pod.containers) {
      t.false(c.securityContext.allowPrivilegeEscalation);
      t.true(c.securityContext.readOnlyRootFilesystem);
      t.deepEqual(c.securityContext.capabilities, { drop: ["ALL"] });
    }
  }
});

test("the webhook's configuration: rules, opted-in namespaces only, never its own or kube-system", async (t) => {
  const docs = await render();
  const config = named(docs, "ValidatingWebhookConfiguration", "rel-webhook");
  // Exactly what src/admission/registration.ts says (the webhook's --register writes the same).
  t.deepEqual(
    config.webhooks,
    webhookEntries({
      clientConfig: (path) => ({
        service: { name: "rel-webhook", namespace: "egress-system", path, port: 443 },
      }),
      failurePolicy: "Fail",
      timeoutSeconds: 5,
      exempt: exemptNamespaces("egress-system"),
    }),
  );
  // Two entries: an outage blocks only enforce namespaces.
  t.deepEqual(
    config.webhooks.map((h: Obj) => [h.name, h.failurePolicy]),
    [
      ["enforce.egress.otter.dev", "Fail"],
      ["warn.egress.otter.dev", "Ignore"],
    ],
  );
  const webhook = named(docs, "Deployment", "rel-webhook");
  t.is(webhook.spec.replicas, 2);
  t.true(webhook.spec.template.spec.containers[0].args.includes("--patch-ca-bundle=rel-webhook"));
  t.deepEqual(named(docs, "PodDisruptionBudget", "rel-webhook").spec.maxUnavailable, 1);
});

test("only CoreDNS may reach the dnstap port", async (t) => {
  const policy = named(await render(), "NetworkPolicy", "rel-collector");
  t.deepEqual(policy.spec.ingress[0], {
    from: [
      {
        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
        podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
      },
    ],
    ports: [{ port: "dnstap", protocol: "TCP" }],
  });
});

test("values change what is rendered; the schema refuses what is not a value", async (t) => {
  const docs = await render(
    "--set",
    "webhook.failurePolicy=Ignore,webhook.timeoutSeconds=10,webhook.replicas=3",
    "--set",
    "collector.image.tag=v9,collector.networkPolicy.enabled=false,webhook.denyOn={missing}",
  );
  const [hook, warn] = named(docs, "ValidatingWebhookConfiguration", "rel-webhook").webhooks;
  t.is(hook.failurePolicy, "Ignore");
  t.is(hook.timeoutSeconds, 10);
  t.is(warn.failurePolicy, "Ignore", "warn namespaces always fail open");
  const webhook = named(docs, "Deployment", "rel-webhook");
  t.is(webhook.spec.replicas, 3);
  t.true(webhook.spec.template.spec.containers[0].args.includes("--deny-on=missing"));
  t.is(
    named(docs, "Deployment", "rel-collector").spec.template.spec.containers[0].image,
    "ghcr.io/otter-egress/collector:v9",
  );
  t.is(byKind(docs, "NetworkPolicy").length, 0);

  const bad = await exec(HELM, ["template", "rel", CHART, "--set", "webhook.failurePolicy=Maybe"]);
  t.not(bad.code, 0);
  t.regex(bad.stderr, /failurePolicy/);
  const unknown = await exec(HELM, ["template", "rel", CHART, "--set", "webhook.colour=blue"]);
  t.not(unknown.code, 0);
  t.regex(unknown.stderr, /colour/);
});

test("what a platform team sets: scheduling, pod metadata, pull secrets, a drain-safe PDB, a webhook NetworkPolicy", async (t) => {
  const docs = await render(
    "--set",
    [
      "webhook.priorityClassName=system-cluster-critical",
      "webhook.nodeSelector.pool=system",
      "webhook.tolerations[0].operator=Exists",
      "webhook.podAnnotations.team=platform",
      "webhook.podLabels.tier=gate",
      "webhook.serviceAccount.annotations.role=arn",
      "collector.topologySpreadConstraints[0].maxSkew=1",
      "collector.topologySpreadConstraints[0].topologyKey=topology.kubernetes.io/zone",
      "collector.topologySpreadConstraints[0].whenUnsatisfiable=ScheduleAnyway",
      "imagePullSecrets[0].name=registry",
      "webhook.networkPolicy.enabled=true",
      "webhook.networkPolicy.from[0].ipBlock.cidr=10.0.0.0/24",
    ].join(","),
  );
  const webhook = named(docs, "Deployment", "rel-webhook").spec.template;
  t.is(webhook.spec.priorityClassName, "system-cluster-critical");
  t.deepEqual(webhook.spec.nodeSelector, { pool: "system" });
  t.deepEqual(webhook.spec.tolerations, [{ operator: "Exists" }]);
  t.is(webhook.metadata.annotations.team, "platform");
  t.is(webhook.metadata.labels.tier, "gate");
  t.deepEqual(webhook.spec.imagePullSecrets, [{ name: "registry" }]);
  t.deepEqual(named(docs, "ServiceAccount", "rel-webhook").metadata.annotations, { role: "arn" });
  // With no affinity given, the webhook's replicas prefer different nodes.
  t.is(
    webhook.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0]
      .podAffinityTerm.topologyKey,
    "kubernetes.io/hostname",
  );
  const collector = named(docs, "Deployment", "rel-collector").spec.template.spec;
  t.is(collector.topologySpreadConstraints[0].topologyKey, "topology.kubernetes.io/zone");
  t.deepEqual(collector.imagePullSecrets, [{ name: "registry" }]);
  const policy = named(docs, "NetworkPolicy", "rel-webhook");
  t.deepEqual(policy.spec.ingress, [
    { from: [{ ipBlock: { cidr: "10.0.0.0/24" } }], ports: [{ port: "https", protocol: "TCP" }] },
  ]);
  // One replica: no PodDisruptionBudget that could block a drain.
  const single = await render("--set", "webhook.replicas=1");
  t.is(byKind(single, "PodDisruptionBudget").length, 0);
  // Clusters older than matchConditions are refused at install.
  const old = await exec(HELM, ["template", "rel", CHART, "--kube-version", "1.29.0"]);
  t.not(old.code, 0);
  t.regex(old.stderr, /kubeVersion/);
});

test("cert-manager mode, host network, TLS 1.3 and ServiceMonitors, when asked for", async (t) => {
  const docs = await render(
    "--set",
    "webhook.certManager.enabled=true,webhook.hostNetwork.enabled=true,webhook.tlsMinVersion=1.3,serviceMonitor.enabled=true",
  );
  const config = named(docs, "ValidatingWebhookConfiguration", "rel-webhook");
  t.is(config.metadata.annotations["cert-manager.io/inject-ca-from"], "egress-system/rel-webhook");
  t.is(named(docs, "Certificate", "rel-webhook").spec.secretName, "rel-webhook-cert-manager");
  // A CA of its own issues the serving certificate: renewals keep the CA the API server trusts.
  t.deepEqual(named(docs, "Issuer", "rel-webhook").spec.ca, { secretName: "rel-webhook-ca" });
  t.true(named(docs, "Certificate", "rel-webhook-ca").spec.isCA);
  t.truthy(named(docs, "Issuer", "rel-webhook-selfsigned").spec.selfSigned);
  const pod = named(docs, "Deployment", "rel-webhook").spec.template.spec;
  const args: string[] = pod.containers[0].args;
  t.true(args.includes("--tls-cert=/certs/tls.crt"));
  t.false(args.some((a) => a.startsWith("--tls-secret") || a.startsWith("--patch-ca-bundle")));
  t.true(args.includes("--tls-min-version=1.3"));
  t.true(args.includes("--port=10443"));
  t.true(pod.hostNetwork);
  t.is(pod.dnsPolicy, "ClusterFirstWithHostNet");
  // With cert-manager, the webhook may not touch Secrets or its configuration.
  const rules = [
    ...named(docs, "Role", "rel-webhook").rules,
    ...named(docs, "ClusterRole", "rel-webhook").rules,
  ];
  t.false(rules.some((r: Obj) => r.resources.includes("secrets")));
  t.false(rules.some((r: Obj) => r.resources.includes("validatingwebhookconfigurations")));
  t.is(byKind(docs, "ServiceMonitor").length, 2);
  // The test pod checks the certificate against cert-manager's CA.
  const test = named(docs, "Pod", "rel-webhook-test");
  t.is(test.spec.volumes[0].secret.secretName, "rel-webhook-cert-manager");
});

let cp: ControlPlane | undefined;
test.after.always(async () => cp?.stop());

test("installs onto the real API server, restricted-clean, and uninstalls without leaving the webhook behind", async (t) => {
  // A fresh cluster: the chart installs the ObservedEgress CRD itself (and will upgrade it).
  cp = await startCluster({ chartCrds: false });
  const k = cp.kubeconfig;
  await kubectl(k, ["create", "namespace", "egress-system"]);
  await kubectl(k, [
    "label",
    "namespace",
    "egress-system",
    "pod-security.kubernetes.io/enforce=restricted",
    "pod-security.kubernetes.io/warn=restricted",
  ]);
  const install = await exec(HELM, [
    "install",
    "rel",
    CHART,
    "-n",
    "egress-system",
    "--kubeconfig",
    k,
  ]);
  t.is(install.code, 0, install.stderr);
  const crd = JSON.parse(
    await kubectl(k, ["get", "crd", "observedegresses.egress.otter.dev", "-o", "json"]),
  ) as Obj;
  t.is(crd.metadata.annotations["meta.helm.sh/release-name"], "rel", "managed by the release");
  const upgrade = await exec(HELM, [
    "upgrade",
    "rel",
    CHART,
    "-n",
    "egress-system",
    "--kubeconfig",
    k,
  ]);
  t.is(upgrade.code, 0, upgrade.stderr);
  t.notRegex(install.stderr, /PodSecurity/, "no restricted-standard warnings");
  t.regex(install.stdout, /dnstap tcp:\/\/<that ClusterIP>:6000 full/);
  const config = await exec(KUBECTL, [
    "--kubeconfig",
    k,
    "get",
    "validatingwebhookconfiguration",
    "rel-webhook",
  ]);
  t.is(config.code, 0);
  const uninstall = await exec(HELM, [
    "uninstall",
    "rel",
    "-n",
    "egress-system",
    "--kubeconfig",
    k,
  ]);
  t.is(uninstall.code, 0, uninstall.stderr);
  const after = await exec(KUBECTL, [
    "--kubeconfig",
    k,
    "get",
    "validatingwebhookconfigurations",
    "-o",
    "name",
  ]);
  t.notRegex(after.stdout, /rel-webhook/);
  // The CRD, and so every ObservedEgress, outlives the release.
  const kept = await exec(KUBECTL, [
    "--kubeconfig",
    k,
    "get",
    "crd",
    "observedegresses.egress.otter.dev",
  ]);
  t.is(kept.code, 0, "helm uninstall keeps the CRD");
});

test("the sniffer's reports are off by default; when enabled, on their own port, open only to the sniffer's pods", async (t) => {
  const plain = await render();
  const collector = (docs: Obj[]) =>
    named(docs, "Deployment", "rel-collector").spec.template.spec.containers[0];
  t.false(collector(plain).args.some((a: string) => a.startsWith("--sniffer-listen")));
  t.deepEqual(
    collector(plain).ports.map((p: Obj) => p.name),
    ["dnstap", "http"],
  );
  t.deepEqual(
    named(plain, "Service", "rel-collector").spec.ports.map((p: Obj) => p.name),
    ["dnstap", "http"],
  );

  const on = await render("--set", "collector.sniffer.enabled=true");
  t.true(collector(on).args.includes("--sniffer-listen=:9090"));
  t.like(collector(on).ports[2], { name: "sniffer", containerPort: 9090 });
  t.like(named(on, "Service", "rel-collector").spec.ports[2], {
    name: "sniffer",
    port: 9090,
    targetPort: "sniffer",
  });
  const rules = named(on, "NetworkPolicy", "rel-collector").spec.ingress as Obj[];
  const sniffer = rules.find((r) => r.ports.some((p: Obj) => p.port === "sniffer"));
  t.deepEqual(sniffer?.from, [
    { namespaceSelector: {}, podSelector: { matchLabels: { app: "otterize-network-sniffer" } } },
  ]);
  // The HTTP port's rule does not let anyone reach the sniffer's port.
  const open = rules.filter((r) => !r.from);
  t.deepEqual(
    open.flatMap((r) => r.ports.map((p: Obj) => p.port)),
    ["http"],
  );
  const lint = await exec(HELM, [
    "lint",
    "--strict",
    CHART,
    "--set",
    "collector.sniffer.enabled=true",
  ]);
  t.is(lint.code, 0, lint.stdout + lint.stderr);
});
