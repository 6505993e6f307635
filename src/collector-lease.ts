import { formatDuration } from "./duration.js";
import type { Listening } from "./verdicts.js";

/**
 * Whether the collector is listening, from its Lease (`otter-egress-collector`, renewed
 * every 30 s): silence only counts as evidence while the Lease is fresh.
 */

export const LEASE_NAME = "otter-egress-collector";
export const LEASE_STALE_AFTER_MS = 5 * 60_000;

export type LeaseReading =
  | { readonly found: true; readonly renewTime?: number }
  | { readonly found: false; readonly why: "missing" | "forbidden" };

/** What a Lease object says: when it was last renewed (or first acquired). */
export function leaseReading(lease: {
  spec?: { renewTime?: unknown; acquireTime?: unknown };
}): LeaseReading {
  const t = lease.spec?.renewTime ?? lease.spec?.acquireTime;
  const ms = t instanceof Date ? t.getTime() : typeof t === "string" ? Date.parse(t) : NaN;
  return Number.isNaN(ms) ? { found: true } : { found: true, renewTime: ms };
}

export function listeningFromLease(lease: LeaseReading, namespace: string, now: number): Listening {
  if (!lease.found) {
    return {
      state: "stopped",
      why:
        lease.why === "missing"
          ? `no collector Lease ${namespace}/${LEASE_NAME} exists`
          : `the collector Lease ${namespace}/${LEASE_NAME} cannot be read (forbidden)`,
    };
  }
  if (lease.renewTime === undefined) {
    return {
      state: "stopped",
      why: `the collector Lease ${namespace}/${LEASE_NAME} was never renewed`,
    };
  }
  if (now - lease.renewTime > LEASE_STALE_AFTER_MS) {
    return {
      state: "stopped",
      since: lease.renewTime,
      why: `the collector Lease is older than ${formatDuration(LEASE_STALE_AFTER_MS)}`,
    };
  }
  return { state: "live" };
}
