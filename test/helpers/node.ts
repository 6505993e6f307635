import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NodeCluster, NodeOptions } from "../controlplane/node.js";
import { startNode } from "../controlplane/node.js";
import { crdFiles, exec, KUBECTL } from "./cluster.js";

/** A real one-node cluster for a test file (see test/controlplane/node.ts). */
export function startTestNode(opts: Partial<NodeOptions> = {}): Promise<NodeCluster> {
  return startNode({
    dir: mkdtempSync(join(tmpdir(), "otter-node-")),
    crds: crdFiles(),
    log: process.env["OTTER_NODE_LOG"] ? (l) => process.stderr.write(`node: ${l}\n`) : undefined,
    ...opts,
  });
}

/** The JSON lines a test client pod printed (test/images/client.mjs). */
export async function clientLines(
  kubeconfig: string,
  namespace: string,
  pod: string,
): Promise<Array<Record<string, unknown>>> {
  const r = await exec(KUBECTL, ["--kubeconfig", kubeconfig, "-n", namespace, "logs", pod]);
  if (r.code !== 0) throw new Error(`kubectl logs ${pod}: ${r.stderr}`);
  return r.stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Polls `probe` until it returns a value other than undefined, or throws after timeoutMs. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 60_000,
  everyMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ""}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
