import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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

const FILE_LOCK = "/run/otter-egress-node-tests";

/**
 * Holds the machine's node for a whole test file, not only while one node runs: a file that
 * starts and stops several nodes (test/integration/node.node.test.ts) must not have another file's node start
 * between them. The lock is a directory naming its process; a dead owner's lock is taken over.
 * Returns the release.
 */
export async function holdNodeForFile(timeoutMs = 900_000): Promise<() => void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(FILE_LOCK);
      writeFileSync(`${FILE_LOCK}/owner`, String(process.pid));
      return () => {
        if (ownerOf() === process.pid) rmSync(FILE_LOCK, { recursive: true, force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const owner = ownerOf();
      if (owner !== undefined && !alive(owner)) {
        rmSync(FILE_LOCK, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new Error(`${FILE_LOCK} is held by process ${String(owner)}`, { cause: err });
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

function ownerOf(): number | undefined {
  try {
    return Number(readFileSync(`${FILE_LOCK}/owner`, "utf8")) || undefined;
  } catch {
    return undefined; // being written, or gone
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
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
