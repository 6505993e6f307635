import type { KubeConfig } from "@kubernetes/client-node";
import { generateKeyPair } from "../webhook/key-pair.js";
import {
  AdmissionregistrationV1Api,
  type V1ValidatingWebhookConfiguration,
} from "@kubernetes/client-node";
import { readFileSync, watchFile } from "node:fs";
import { decide } from "../src/admission/decide.js";
import { exemptNamespaces, webhookEntries } from "../src/admission/registration.js";
import { parseFlags, stringWithDefault } from "../src/cli/command-line.js";
import { FLAGS } from "./webhook-flags.js";
import { runServer } from "./server-main.js";
import { parseVerdictList } from "../src/cli/invocation.js";
import { parseDuration } from "../src/duration.js";
import { UsageError } from "../src/errors.js";
import { issueServing, serviceNames, webhookCa, type Pem, type ServingNames } from "../src/tls.js";
import { Caches } from "../webhook/caches.js";
import { tuneHeapForReviews } from "../webhook/heap-tuning.js";
import { log } from "../server/log.js";
import { TlsSecret } from "../webhook/tls-secret.js";
import { createWebhookServer, shutdown } from "../webhook/server.js";
import { SharedConnectionsKubeConfig } from "../kube/kubeconfig.js";

/**
 * The admission webhook's entry point. Outside a cluster (development, tests):
 *   node dist/cmd/webhook.js --kubeconfig K --port 8443 --register-url https://127.0.0.1:8443/validate
 * generates its own CA and serving certificate and registers itself with that URL.
 */

const CONFIG_NAME = "otter-egress";

function webhookConfiguration(
  url: string,
  caBundle: string,
  failurePolicy: string,
  ownNamespace: string,
): V1ValidatingWebhookConfiguration {
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingWebhookConfiguration",
    metadata: { name: CONFIG_NAME },
    webhooks: webhookEntries({
      clientConfig: (path) => ({
        url: url.replace(/\/validate\/?$/, "") + path,
        caBundle: Buffer.from(caBundle).toString("base64"),
      }),
      failurePolicy,
      timeoutSeconds: 5,
      // As the chart: never its own namespace, nor kube-system.
      exempt: exemptNamespaces(ownNamespace),
    }) as unknown as V1ValidatingWebhookConfiguration["webhooks"],
  };
}

/**
 * Keeps the CA in every webhook of an existing ValidatingWebhookConfiguration (one installed by
 * Helm): patched when any differs, with the resourceVersion it read (a conflict is another
 * replica doing the same; the next tick looks again). True when it wrote.
 */
async function ensureCaBundle(kc: KubeConfig, name: string, caPem: string): Promise<boolean> {
  const api = kc.makeApiClient(AdmissionregistrationV1Api);
  const config = await api.readValidatingWebhookConfiguration({ name });
  const caBundle = Buffer.from(caPem).toString("base64");
  const hooks = config.webhooks ?? [];
  if (hooks.every((w) => w.clientConfig.caBundle === caBundle)) return false;
  for (const w of hooks) w.clientConfig = { ...w.clientConfig, caBundle };
  await api.replaceValidatingWebhookConfiguration({ name, body: config });
  return true;
}

async function register(kc: KubeConfig, body: V1ValidatingWebhookConfiguration): Promise<void> {
  const api = kc.makeApiClient(AdmissionregistrationV1Api);
  try {
    const existing = await api.readValidatingWebhookConfiguration({ name: CONFIG_NAME });
    body.metadata = { ...body.metadata, resourceVersion: existing.metadata?.resourceVersion };
    await api.replaceValidatingWebhookConfiguration({ name: CONFIG_NAME, body });
  } catch (e) {
    if ((e as { code?: number }).code !== 404) throw e;
    await api.createValidatingWebhookConfiguration({ body });
  }
}

/** The Service in front of the webhook (--service NAME.NAMESPACE). */
function serviceOf(service: string): { name: string; namespace: string } {
  const [name = "", namespace = ""] = service.split(".");
  if (!name || !namespace || service.split(".").length !== 2) {
    throw new UsageError(`--service must be NAME.NAMESPACE, not "${service}"`);
  }
  return { name, namespace };
}

/** Names of a generated serving certificate: the Service in front of it, and loopback for development. */
function servingNames(service: { name: string; namespace: string }): ServingNames {
  return {
    dnsNames: ["localhost", ...serviceNames(service.name, service.namespace)],
    ips: ["127.0.0.1"],
  };
}

export async function main(argv: readonly string[]): Promise<number> {
  tuneHeapForReviews();
  const { flags } = parseFlags(argv, FLAGS, "webhook", {
    description:
      "The otter egress admission webhook: denies (or warns on) deploys whose ClientIntents omit observed egress or declare unused egress, judged by the same engine as kubectl otter egress diff.",
    usage: "node dist/cmd/webhook.js [flags]",
  });
  const str = (n: string) => flags.get(n) as string | undefined;
  const value = (n: string) => stringWithDefault(flags, n);
  const port = Number(value("port"));
  const failurePolicy = value("failure-policy");
  if (failurePolicy !== "Fail" && failurePolicy !== "Ignore")
    throw new UsageError("--failure-policy must be Fail or Ignore");
  const denyOn = parseVerdictList(value("deny-on"), "--deny-on");
  const windowMs = parseDuration(value("window"), "--window");
  const validityMs = parseDuration(value("cert-validity"), "--cert-validity");
  const collectorNamespace = value("collector-namespace");
  const service = serviceOf(value("service"));
  const SERVING_NAMES = servingNames(service);

  const kc = new SharedConnectionsKubeConfig();
  if (str("kubeconfig")) kc.loadFromFile(str("kubeconfig") as string);
  else kc.loadFromDefault();

  let tls: Pem;
  let ca: Pem | undefined;
  const certFile = str("tls-cert");
  const keyFile = str("tls-key");
  const secretRef = str("tls-secret");
  let shared: TlsSecret | undefined;
  if (certFile && keyFile) {
    tls = { cert: readFileSync(certFile, "utf8"), key: readFileSync(keyFile, "utf8") };
  } else if (secretRef) {
    const [namespace, name] = secretRef.split("/");
    if (!namespace || !name) throw new UsageError("--tls-secret must be NAMESPACE/NAME");
    shared = new TlsSecret(kc, namespace, name, SERVING_NAMES, validityMs);
    const current = await shared.current();
    ca = current.ca;
    tls = current.serving;
  } else {
    ca = webhookCa(generateKeyPair(), Date.now());
    tls = issueServing(ca, generateKeyPair(), SERVING_NAMES, Date.now(), validityMs);
  }

  const minText = value("tls-min-version");
  if (minText !== "1.2" && minText !== "1.3") {
    throw new UsageError(`--tls-min-version must be 1.2 or 1.3, not "${minText}"`);
  }
  const logLevel = value("log-level");
  if (logLevel !== "info" && logLevel !== "debug") {
    throw new UsageError(`--log-level must be info or debug, not "${logLevel}"`);
  }
  const patchName = str("patch-ca-bundle");
  const caches = new Caches(kc, collectorNamespace, log);
  const settings = { windowMs, denyOn };
  const minVersion = minText === "1.3" ? "TLSv1.3" : "TLSv1.2";
  const { server } = createWebhookServer({
    tls,
    minVersion,
    failurePolicy,
    isReady: () => caches.ready,
    readyNote: () => caches.note,
    cacheFailures: () => caches.failures(),
    log,
    logAllowed: logLevel === "debug",
    decide: (req) =>
      caches.ready
        ? decide(req, caches.store.context(req.namespace, Date.now(), settings))
        : undefined,
  });

  // New certificates without a restart: files when they change, generated ones before expiry.
  const reload = (next: Pem) => {
    tls = next;
    // (The whole context is replaced: the TLS minimum goes with it.)
    server.setSecureContext({ cert: next.cert, key: next.key, minVersion });
    log({ level: "info", msg: "serving certificate reloaded" });
  };
  if (certFile && keyFile) {
    for (const f of [certFile, keyFile]) {
      watchFile(f, { interval: 1000 }, () => {
        try {
          reload({ cert: readFileSync(certFile, "utf8"), key: readFileSync(keyFile, "utf8") });
        } catch (e) {
          log({ level: "warn", msg: "could not reload the certificate", error: String(e) });
        }
      });
    }
  } else if (shared) {
    // Every replica reads the shared Secret; whichever finds the certificate due renews it.
    // The API server must trust what is served: after a renewal, or a Secret that was deleted
    // and made again with a new CA, caBundle follows the Secret's CA on the same tick.
    const secret = shared;
    const every = Math.max(1000, Math.min(validityMs / 6, 30_000));
    const tick = async () => {
      try {
        const next = await secret.current();
        if (next.serving.cert !== tls.cert) reload(next.serving);
        if (patchName && (await ensureCaBundle(kc, patchName, next.ca.cert))) {
          log({ level: "info", msg: "caBundle patched", configuration: patchName });
        }
      } catch (e) {
        log({ level: "warn", msg: "could not keep the TLS Secret and caBundle", error: String(e) });
      }
    };
    setInterval(() => void tick(), every).unref();
  } else if (ca) {
    const authority = ca;
    const schedule = () => {
      // Renew after two thirds of the certificate's life.
      const wait = Math.max(1000, (validityMs * 2) / 3);
      setTimeout(
        () => {
          reload(issueServing(authority, generateKeyPair(), SERVING_NAMES, Date.now(), validityMs));
          schedule();
        },
        Math.min(wait, 2 ** 31 - 1),
      ).unref();
    };
    schedule();
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, () => {
      server.off("error", reject);
      resolve();
    });
  });
  log({ level: "info", msg: "listening", port });
  await caches.start();
  await caches.waitReady(120_000);
  log({ level: "info", msg: "caches synced" });
  if (patchName && ca) {
    // Two replicas starting at once may conflict here: the loser's next tick looks again.
    try {
      if (await ensureCaBundle(kc, patchName, ca.cert)) {
        log({ level: "info", msg: "caBundle patched", configuration: patchName });
      }
    } catch (e) {
      log({ level: "warn", msg: "could not patch caBundle; retrying", error: String(e) });
    }
  }
  const url = str("register-url");
  if (url) {
    await register(
      kc,
      webhookConfiguration(url, ca?.cert ?? tls.cert, failurePolicy, service.namespace),
    );
    log({ level: "info", msg: "registered", url });
  }

  await new Promise<void>((resolve) => {
    const stop = () => {
      log({
        level: "info",
        msg: "shutting down: answering with Connection: close for up to 15 s, then finishing in-flight reviews",
      });
      void shutdown(server).then(resolve);
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
  await caches.stop();
  return 0;
}

runServer(main);
