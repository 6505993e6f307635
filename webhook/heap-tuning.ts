import { setFlagsFromString } from "node:v8";

/**
 * V8 settings of the webhook's process, applied before its caches are filled (ADR 20).
 *
 * `--no-allocation-site-pretenuring`: the same parsers make the caches' objects, which stay,
 * and each review's, which are garbage a turn later. Once V8 pretenured one of their allocation
 * sites, every review's objects from it went to the old generation and held young ones alive:
 * each young collection copied some 240 KB and paused 5-7 ms instead of 2. NODE_OPTIONS does not
 * accept this flag; the process sets it itself.
 */
export function tuneHeapForReviews(): void {
  setFlagsFromString("--no-allocation-site-pretenuring");
}
