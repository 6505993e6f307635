import forge from "node-forge";

/**
 * Certificates as pure functions of their inputs (keys, names, times): a CA, and a serving
 * certificate it signs for the webhook's Service names (and, outside the cluster, 127.0.0.1).
 * Keys are inputs: generating them draws randomness, which is the front end's
 * (webhook/key-pair.ts).
 */

export interface Pem {
  readonly cert: string;
  readonly key: string;
}

export interface KeyPair {
  readonly publicKey: forge.pki.PublicKey;
  readonly privateKey: forge.pki.PrivateKey;
}

function serial(seed: number): string {
  // Positive, 16 hex digits.
  return (0x1000000000000000 + (seed % 0xfffffffffffff)).toString(16);
}

export function createCa(
  keys: KeyPair,
  opts: { commonName: string; notBefore: Date; notAfter: Date; serialSeed: number },
): Pem {
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial(opts.serialSeed);
  cert.validity.notBefore = opts.notBefore;
  cert.validity.notAfter = opts.notAfter;
  const subject = [{ name: "commonName", value: opts.commonName }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  cert.sign(keys.privateKey as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return {
    cert: forge.pki.certificateToPem(cert),
    key: forge.pki.privateKeyToPem(keys.privateKey),
  };
}

/** The DNS names a Service answers to inside the cluster. */
export function serviceNames(service: string, namespace: string): string[] {
  return [
    service,
    `${service}.${namespace}`,
    `${service}.${namespace}.svc`,
    `${service}.${namespace}.svc.cluster.local`,
  ];
}

export function createServingCert(
  ca: Pem,
  keys: KeyPair,
  opts: {
    dnsNames: readonly string[];
    ips: readonly string[];
    notBefore: Date;
    notAfter: Date;
    serialSeed: number;
  },
): Pem {
  const caCert = forge.pki.certificateFromPem(ca.cert);
  const caKey = forge.pki.privateKeyFromPem(ca.key);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial(opts.serialSeed);
  cert.validity.notBefore = opts.notBefore;
  cert.validity.notAfter = opts.notAfter;
  cert.setSubject([
    { name: "commonName", value: opts.dnsNames[0] ?? opts.ips[0] ?? "otter-egress-webhook" },
  ]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: "basicConstraints", cA: false },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", serverAuth: true },
    {
      name: "subjectAltName",
      altNames: [
        ...opts.dnsNames.map((value) => ({ type: 2, value })),
        ...opts.ips.map((ip) => ({ type: 7, ip })),
      ],
    },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return {
    cert: forge.pki.certificateToPem(cert),
    key: forge.pki.privateKeyToPem(keys.privateKey),
  };
}

const MINUTE = 60_000;

export interface ServingNames {
  readonly dnsNames: readonly string[];
  readonly ips: readonly string[];
}

/** A CA for the webhook, valid ten years from a minute before `now`. */
export function webhookCa(keys: KeyPair, now: number): Pem {
  return createCa(keys, {
    commonName: "otter-egress-webhook-ca",
    notBefore: new Date(now - MINUTE),
    notAfter: new Date(now + 10 * 365 * 24 * 60 * MINUTE),
    serialSeed: now,
  });
}

/** A serving certificate signed by `ca`, valid for `validityMs` (from a minute before `now`). */
export function issueServing(
  ca: Pem,
  keys: KeyPair,
  names: ServingNames,
  now: number,
  validityMs: number,
): Pem {
  return createServingCert(ca, keys, {
    ...names,
    notBefore: new Date(now - MINUTE),
    notAfter: new Date(now + validityMs),
    serialSeed: now + 1,
  });
}

/** Whether a serving certificate that ends at `notAfter` should be renewed: in its last third. */
export function renewalDue(notAfter: number, now: number, validityMs: number): boolean {
  return notAfter - now < validityMs / 3;
}
