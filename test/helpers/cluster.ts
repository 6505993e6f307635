import { execFile } from "node:child_process";
import { createServer } from "node:net";
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { dump, load } from "js-yaml";
import { crdFiles as crdFilesOf } from "../controlplane/crds.js";
import {
  defaultBinDir,
  findRepoRoot,
  startControlPlane,
  type ControlPlane,
} from "../controlplane/controlplane.js";

/** A real control plane for a test file, and kubectl against it. */

export const KUBECTL = join(defaultBinDir(), "kubectl");

export function crdFiles(): string[] {
  return crdFilesOf(findRepoRoot());
}

/** A control plane with Otterize's CRD and the chart's (`chartCrds: false`: Otterize's only). */
export async function startCluster(opts: { chartCrds?: boolean } = {}): Promise<ControlPlane> {
  const dir = mkdtempSync(join(tmpdir(), "otter-cp-"));
  const crds = crdFiles().filter((f) => opts.chartCrds !== false || !f.includes("/charts/"));
  return startControlPlane({ dir, crds });
}

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export function exec(
  bin: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  stdin?: string,
): Promise<Result> {
  return new Promise((done) => {
    const child = execFile(
      bin,
      args,
      { env: { ...process.env, NO_COLOR: "", ...env }, maxBuffer: 64 << 20, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        done({ code, stdout, stderr });
      },
    );
    if (stdin !== undefined) child.stdin?.end(stdin);
  });
}

export async function kubectl(kubeconfig: string, args: string[], stdin?: string): Promise<string> {
  const r = await exec(KUBECTL, ["--kubeconfig", kubeconfig, ...args], {}, stdin);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

/**
 * Creates ObservedEgress objects and writes their status through the status subresource
 * (a plain apply ignores status, as for any resource with one).
 */
export async function applyObserved(
  kubeconfig: string,
  objects: Array<Record<string, unknown>>,
): Promise<void> {
  for (const o of objects) {
    const { status, ...rest } = o;
    const meta = o.metadata as { name: string; namespace: string };
    await kubectl(kubeconfig, ["apply", "-f", "-"], dump(rest));
    await kubectl(kubeconfig, [
      "patch",
      "observedegresses",
      meta.name,
      "-n",
      meta.namespace,
      "--subresource=status",
      "--type=merge",
      "-p",
      JSON.stringify({ status }),
    ]);
  }
}

export async function applyLease(
  kubeconfig: string,
  namespace: string,
  renewTime: string,
): Promise<void> {
  await ensureNamespace(kubeconfig, namespace);
  const lease = {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name: "otter-egress-collector", namespace },
    spec: {
      holderIdentity: "collector-0",
      leaseDurationSeconds: 30,
      renewTime: renewTime.replace("Z", ".000000Z"),
    },
  };
  await kubectl(kubeconfig, ["apply", "-f", "-"], dump(lease));
}

export async function ensureNamespace(kubeconfig: string, namespace: string): Promise<void> {
  const ns = await kubectl(kubeconfig, [
    "create",
    "namespace",
    namespace,
    "--dry-run=client",
    "-o",
    "yaml",
  ]);
  await kubectl(kubeconfig, ["apply", "-f", "-"], ns);
}

/** A kubeconfig for the same server with another bearer token (and optionally a namespace). */
export function kubeconfigWithToken(base: string, token: string, namespace?: string): string {
  const cfg = load(readFileSync(base, "utf8")) as {
    contexts: Array<{ context: { namespace?: string } }>;
    users: Array<{ user: Record<string, unknown> }>;
  };
  for (const u of cfg.users) u.user = { token };
  if (namespace) for (const c of cfg.contexts) c.context.namespace = namespace;
  const dir = mkdtempSync(join(tmpdir(), "otter-kc-"));
  const file = join(dir, "kubeconfig");
  writeFileSync(file, dump(cfg));
  return file;
}

/** A directory with `kubectl-otter` in it, to put on PATH so that `kubectl otter` finds the plugin. */
export function pluginPath(): string {
  const dir = mkdtempSync(join(tmpdir(), "otter-path-"));
  mkdirSync(dir, { recursive: true });
  symlinkSync(resolve("bin", "kubectl-otter.js"), join(dir, "kubectl-otter"));
  symlinkSync(resolve("bin", "kubectl_complete-otter"), join(dir, "kubectl_complete-otter"));
  return dir;
}

/** A loopback port that nothing listens on (at the moment of asking). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((done) => s.listen(0, "127.0.0.1", done));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((done) => s.close(() => done()));
  return port;
}
