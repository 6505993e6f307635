import { UsageError } from "../errors.js";

/**
 * The oldest Node.js the plugin runs on, as package.json's `engines` says: the Kubernetes
 * client it bundles uses what older ones lack, and failed under Node 20 with an internal error
 * at the first read of a cluster.
 */
export const OLDEST_NODE = "24.12.0";

function parts(version: string): number[] {
  return version
    .replace(/^v/, "")
    .split(/[.-]/)
    .slice(0, 3)
    .map((p) => Number(p) || 0);
}

/** A command is refused, saying why, on a Node.js older than OLDEST_NODE. */
export function checkRuntime(version: string): void {
  const have = parts(version);
  const need = parts(OLDEST_NODE);
  for (let i = 0; i < 3; i++) {
    if ((have[i] ?? 0) > (need[i] ?? 0)) return;
    if ((have[i] ?? 0) < (need[i] ?? 0))
      throw new UsageError(
        `kubectl-otter needs Node.js ${OLDEST_NODE} or later, and this is Node.js ${version.replace(/^v/, "")}: run it with a newer node, or use the release's single binary, which brings its own`,
      );
  }
}
