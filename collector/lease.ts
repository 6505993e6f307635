import { CoordinationV1Api, type KubeConfig, type V1Lease } from "@kubernetes/client-node";
import { LEASE_NAME } from "../src/collector-lease.js";

/**
 * The Lease that tells the plugin and the webhook the collector is listening (silence only
 * counts while it is fresh). Every replica renews it; any one of them is enough.
 */

const code = (e: unknown) => (e as { code?: number }).code;

/** RFC 3339 with microseconds, as the API server's MicroTime wants it. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** A time read back (a Date) written again with six fractional digits. */
function asMicroTime(t: unknown): Date | undefined {
  if (t instanceof Date) return microTime(t.getTime()) as unknown as Date;
  return undefined;
}

export async function renewLease(
  kc: KubeConfig,
  namespace: string,
  holder: string,
  now: number,
): Promise<void> {
  const api = kc.makeApiClient(CoordinationV1Api);
  // The generated client passes strings through; MicroTime needs six fractional digits.
  const renewTime = microTime(now) as unknown as Date;
  let lease: V1Lease | undefined;
  try {
    lease = await api.readNamespacedLease({ name: LEASE_NAME, namespace });
  } catch (e) {
    if (code(e) !== 404) throw e;
  }
  if (!lease) {
    await api.createNamespacedLease({
      namespace,
      body: {
        metadata: { name: LEASE_NAME, namespace },
        spec: {
          holderIdentity: holder,
          leaseDurationSeconds: 30,
          acquireTime: renewTime,
          renewTime,
        },
      },
    });
    return;
  }
  await api.replaceNamespacedLease({
    name: LEASE_NAME,
    namespace,
    body: {
      ...lease,
      spec: {
        ...lease.spec,
        holderIdentity: holder,
        leaseDurationSeconds: 30,
        acquireTime: asMicroTime(lease.spec?.acquireTime) ?? renewTime,
        renewTime,
      },
    },
  });
}
