import { CoreV1Api, type KubeConfig, type V1Secret } from "@kubernetes/client-node";
import { X509Certificate } from "node:crypto";
import {
  generateKeyPair,
  issueServing,
  renewalDue,
  webhookCa,
  type Pem,
  type ServingNames,
} from "../src/tls.js";

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

function fromSecret(s: V1Secret): SharedTls | undefined {
  const d = s.data ?? {};
  if (!d["ca.crt"] || !d["ca.key"] || !d["tls.crt"] || !d["tls.key"]) return undefined;
  return {
    ca: { cert: unb64(d["ca.crt"]), key: unb64(d["ca.key"]) },
    serving: { cert: unb64(d["tls.crt"]), key: unb64(d["tls.key"]) },
  };
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

export class TlsSecret {
  private readonly api: CoreV1Api;

  constructor(
    kc: KubeConfig,
    private readonly namespace: string,
    private readonly name: string,
    private readonly names: ServingNames,
    private readonly validityMs: number,
  ) {
    this.api = kc.makeApiClient(CoreV1Api);
  }

  /** The shared certificates: read, created when absent, renewed when due. */
  async current(now = Date.now()): Promise<SharedTls> {
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
      try {
        await this.api.createNamespacedSecret({
          namespace: this.namespace,
          body: {
            metadata: { name: this.name, namespace: this.namespace },
            type: "Opaque",
            data: toData(fresh),
          },
        });
        return fresh;
      } catch (e) {
        if (code(e) !== 409) throw e;
        return this.current(now); // another replica created it first
      }
    }
    const notAfter = new Date(new X509Certificate(stored.serving.cert).validTo).getTime();
    if (!renewalDue(notAfter, now, this.validityMs)) return stored;
    const renewed = {
      ca: stored.ca,
      serving: issueServing(stored.ca, generateKeyPair(), this.names, now, this.validityMs),
    };
    try {
      await this.api.replaceNamespacedSecret({
        name: this.name,
        namespace: this.namespace,
        body: { ...secret, data: toData(renewed) },
      });
      return renewed;
    } catch (e) {
      if (code(e) !== 409) throw e;
      return this.current(now); // another replica renewed it first
    }
  }
}
