import { setFlagsFromString } from "node:v8";

/**
 * V8 settings of the webhook's process, applied before its caches are filled (ADR 20).
 *
 * `--no-allocation-site-pretenuring`: V8 moves a place in the code that makes objects to the
 * old generation once nearly all of its objects are alive at one young collection. The
 * webhook's parsers make the caches' objects, which all stay, and each review's, which are
 * garbage a turn later; a turn's answers are also all alive together until they are sent. Once
 * such a place was moved, every review's objects went to the old generation and held young
 * ones alive through it: each young collection then copied some 240 KB and paused 5-7 ms
 * instead of 2, and the old generation grew by as much. It happened in some runs and not in
 * others, and with the caches' hundreds of MiB alive V8 does not take it back, so a
 * long-running webhook would end up there.
 *
 * NODE_OPTIONS does not accept this flag; it is set here, by the process itself.
 */
export const WEBHOOK_V8_FLAGS: readonly string[] = ["--no-allocation-site-pretenuring"];

export function tuneHeapForReviews(): void {
  for (const flag of WEBHOOK_V8_FLAGS) setFlagsFromString(flag);
}
