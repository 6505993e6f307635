import { generateKeyPair } from "./key-pair.js";
import { CoreV1Api, type KubeConfig, type V1Secret } from "@kubernetes/client-node";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { issueServing, renewalDue, webhookCa, type Pem, type ServingNames } from "../src/tls.js";

/**
 * The webhook's CA and serving certificate, kept in one Secret that every replica shares: the
 * first replica creates it, the others read it; whichever replica first sees the serving
 * certificate in its last third of life issues a new one with the same CA, and the others
 * pick it up on their next read. Conflicts (two replicas at once) resolve by re-reading.
 */

export interface SharedTls {
  readonly ca: Pem;
  readonly serving: Pem;
}

const b64 = (s: string) => Buffer.from(s).toString("base64");
const unb64 = (s: string | undefined) => Buffer.from(s ?? "", "base64").toString("utf8");

/**
 * The certificates a Secret holds, when they are whole and usable: every key present, each
 * PEM readable, each key the one of its certificate, the serving certificate signed by the CA.
 * Anything else (a Secret written by another tool without ca.key, garbage) is undefined.
 */
export function fromSecret(s: V1Secret): SharedTls | undefined {
  const d = s.data ?? {};
  if (!d["ca.crt"] || !d["ca.key"] || !d["tls.crt"] || !d["tls.key"]) return undefined;
  const t = {
    ca: { cert: unb64(d["ca.crt"]), key: unb64(d["ca.key"]) },
    serving: { cert: unb64(d["tls.crt"]), key: unb64(d["tls.key"]) },
  };
  try {
    const ca = new X509Certificate(t.ca.cert);
    const serving = new X509Certificate(t.serving.cert);
    if (!ca.checkPrivateKey(createPrivateKey(t.ca.key))) return undefined;
    if (!serving.checkPrivateKey(createPrivateKey(t.serving.key))) return undefined;
    if (!serving.verify(ca.publicKey)) return undefined;
  } catch {
    return undefined;
  }
  return t;
}

function toData(t: SharedTls): Record<string, string> {
  return {
    "ca.crt": b64(t.ca.cert),
    "ca.key": b64(t.ca.key),
    "tls.crt": b64(t.serving.cert),
    "tls.key": b64(t.serving.key),
  };
}

const code = (e: unknown) => (e as { code?: number }).code;

/** Reads and writes of one pass before its error goes to the caller. */
const ATTEMPTS = 5;

export class TlsSecret {
  private readonly api: CoreV1Api;
  /** Unusable Secrets replaced (for tests and logs). */
  replaced = 0;

  constructor(
    kc: KubeConfig,
    private readonly namespace: string,
    private readonly name: string,
    private readonly names: ServingNames,
    private readonly validityMs: number,
  ) {
    this.api = kc.makeApiClient(CoreV1Api);
  }

  /**
   * The shared certificates: read, created when absent, replaced when unusable (a partial or
   * corrupt Secret), renewed when due. Another replica writing first (409) means read again,
   * a few times, with a growing pause; then the error is the caller's (it retries later).
   */
  async current(now = Date.now()): Promise<SharedTls> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once(now);
      } catch (e) {
        if (code(e) !== 409 || attempt >= ATTEMPTS - 1) throw e;
        await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
      }
    }
  }

  private async once(now: number): Promise<SharedTls> {
    let secret: V1Secret | undefined;
    try {
      secret = await this.api.readNamespacedSecret({ name: this.name, namespace: this.namespace });
    } catch (e) {
      if (code(e) !== 404) throw e;
    }
    const stored = secret && fromSecret(secret);
    if (!secret || !stored) {
      const ca = webhookCa(generateKeyPair(), now);
      const fresh = {
        ca,
        serving: issueServing(ca, generateKeyPair(), this.names, now, this.validityMs),
      };
      if (secret && !secret.immutable) {
        // There, but not usable: replaced, on the version read (a 409 if someone fixed it).
        // Its type stays (it cannot change; kubernetes.io/tls takes the CA keys as well).
        await this.api.replaceNamespacedSecret({
          name: this.name,
          namespace: this.namespace,
          body: { ...secret, data: toData(fresh) },
        });
        this.replaced++;
        return fresh;
      }
      if (secret) {
        // Immutable: deleted (that version only) and made again.
        await this.api.deleteNamespacedSecret({
          name: this.name,
          namespace: this.namespace,
          body: {
            preconditions: {
              uid: secret.metadata?.uid,
              resourceVersion: secret.metadata?.resourceVersion,
            },
          },
        });
        this.replaced++;
      }
      await this.api.createNamespacedSecret({
        namespace: this.namespace,
        body: {
          metadata: { name: this.name, namespace: this.namespace },
          type: "Opaque",
          data: toData(fresh),
        },
      });
      return fresh;
    }
    const notAfter = new Date(new X509Certificate(stored.serving.cert).validTo).getTime();
    if (!renewalDue(notAfter, now, this.validityMs)) return stored;
    const renewed = {
      ca: stored.ca,
      serving: issueServing(stored.ca, generateKeyPair(), this.names, now, this.validityMs),
    };
    await this.api.replaceNamespacedSecret({
      name: this.name,
      namespace: this.namespace,
      body: { ...secret, data: toData(renewed) },
    });
    return renewed;
  }
}
