import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";

export const BIN = resolve(process.cwd(), "bin", "kubectl-otter.js");

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real plugin entry point as a user would, optionally feeding stdin. */
export function runCli(
  args: readonly string[],
  opts: { stdin?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: opts.cwd ?? process.cwd(),
      env: { ...process.env, NO_COLOR: "", ...opts.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolvePromise({ code, stdout, stderr }));
    child.stdin.end(opts.stdin ?? "");
  });
}

/** The bundled example, judged at the time its snapshot was taken. */
export const EXAMPLE_INPUTS = [
  "--intents",
  "examples/intents",
  "--observed",
  "examples/observed/snapshot.yaml",
  "--now",
  "2026-11-25T10:00:00Z",
] as const;

/** diff of the example's intents against another snapshot. */
export const diffAgainst = (snapshot: string, ...extra: string[]) =>
  runCli(["egress", "diff", "--intents", "examples/intents", "--observed", snapshot, ...extra]);

/** list of the example's snapshot. */
export const listExample = (...extra: string[]) =>
  runCli(["egress", "list", "--observed", "examples/observed/snapshot.yaml", ...extra]);

/** A kubeconfig (written at `file`) for a cluster nobody listens at, with namespace dev. */
export function writeUnreachableKubeconfig(file: string): string {
  writeFileSync(
    file,
    `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:2"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u, namespace: dev}}]
current-context: x
`,
  );
  return file;
}
