import {
  appendFileSync,
  chmodSync,
  realpathSync,
  readdirSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import type { FixContext } from "../src/cli/fix.js";
import type { FileChange } from "../src/fix/plan.js";
import { complete, flagIn, renderCompletion } from "../src/cli/complete.js";
import { parseRequest, type Invocation } from "../src/cli/invocation.js";
import { filesScope, namespaceScope, runCommand, type Gathered } from "../src/cli/run.js";
import type { ClientIntents } from "../src/client-intents.js";
import { InputError, isTypedError, UsageError } from "../src/errors.js";
import type { Style } from "../src/render/style.js";
import { VERSION } from "../src/version.js";
import type { IntentsSource, ObservedSource } from "../src/sources.js";
import type { Cluster } from "./cluster-sources.js";
import { IntentsFiles, ObservedSnapshot } from "./file-sources.js";

/**
 * `kubectl-otter`: gather → decide → render → exit code. Only this file maps errors to
 * exit codes: 0 no failing finding, 1 failing findings, 2 usage or input error.
 */

export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
  stdin(): string;
  env: NodeJS.ProcessEnv;
  isTTY: boolean;
  /** The terminal's width (help wraps to it); undefined when stdout is not a terminal. */
  columns?: number;
  clock(): number;
}

/**
 * All of stdin. A pipe may be non-blocking and empty for now (a slow producer): EAGAIN waits
 * and reads again, where readFileSync(0) would fail.
 */
function readStdin(): string {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(1 << 16);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    let n: number;
    try {
      n = readSync(0, buf, 0, buf.length, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EAGAIN") {
        Atomics.wait(pause, 0, 0, 5);
        continue;
      }
      if (code === "EOF") break;
      throw e;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks).toString("utf8");
}

function processIo(): Io {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    stdin: readStdin,
    env: process.env,
    isTTY: process.stdout.isTTY === true,
    ...(process.stdout.isTTY ? { columns: process.stdout.columns } : {}),
    clock: () => Date.now(),
  };
}

function styleFor(io: Io): Style {
  const noColor = io.env.NO_COLOR !== undefined && io.env.NO_COLOR !== "";
  return { color: io.isTTY && !noColor && io.env.TERM !== "dumb" };
}

function loaded<T>(module: T | undefined): T {
  if (module === undefined) throw new Error("internal error: the cluster client is not loaded");
  return module;
}

/**
 * Gathers the inputs: files where flags name them, the cluster for the rest. With intents
 * from files and observations from the cluster, the observations of the files' namespaces
 * are read (unless -n or -A says otherwise).
 */
async function gather(inv: Invocation, io: Io): Promise<Gathered> {
  const observedFromFile = inv.observed !== undefined;
  const intentsFromFiles = inv.command !== "diff" || inv.intents.length > 0;
  // The Kubernetes client is loaded only when the cluster is read: --help and file-only runs
  // start without it (it is most of the plugin's code).
  const k8s =
    observedFromFile && intentsFromFiles ? undefined : await import("./cluster-sources.js");
  const cluster = k8s?.Cluster.connect(inv.kube);
  const contextNamespace = cluster?.contextNamespace;
  const namespaces = namespaceScope(inv, cluster === undefined, contextNamespace);
  const defaultNamespace = inv.kube.namespace ?? contextNamespace ?? "default";
  const now = inv.now ?? io.clock();

  let intents: ClientIntents[] = [];
  let files: IntentsFiles | undefined;
  if (inv.command === "diff") {
    if (inv.intents.length > 0) files = new IntentsFiles(inv.intents, io.stdin);
    const source: IntentsSource =
      files ?? new (loaded(k8s).ClusterIntents)(cluster as Cluster, namespaces);
    intents = await source.intents(defaultNamespace);
  }
  let base: ClientIntents[] | undefined;
  const baseFiles = inv.base.length > 0 ? new IntentsFiles(inv.base, io.stdin, false) : undefined;
  if (baseFiles) base = await baseFiles.intents(defaultNamespace);
  const scope =
    inv.command === "diff" && intentsFromFiles
      ? filesScope(inv, namespaces, [...intents, ...(base ?? [])])
      : namespaces;
  const observed: ObservedSource = observedFromFile
    ? new ObservedSnapshot(inv.observed as string, io.stdin)
    : new (loaded(k8s).ClusterObserved)(cluster as Cluster, scope, inv.collectorNamespace, now);
  const [observedList, listening] = await Promise.all([
    observed.observed(),
    inv.command === "diff" ? observed.listening() : Promise.resolve({ state: "snapshot" } as const),
  ]);
  const warnings = [...(files?.warnings ?? []), ...(baseFiles?.warnings ?? [])];
  return {
    intents,
    ...(warnings.length > 0 ? { warnings } : {}),
    ...(base ? { base } : {}),
    ...(inv.fix && files ? { fix: fixContext(inv.intents, files.texts, defaultNamespace) } : {}),
    intentsFromFiles,
    observed: observedList,
    listening,
    now,
    namespaces: scope,
  };
}

/** What --fix needs to know of the file system: where a new file goes, and what is there. */
function fixContext(
  paths: readonly string[],
  texts: ReadonlyMap<string, string>,
  defaultNamespace: string,
): FixContext {
  const first = paths[0] as string;
  let newFileDir = dirname(first);
  try {
    if (statSync(first).isDirectory()) newFileDir = first;
  } catch {
    // expandPath has already said what is wrong with it.
  }
  const existing = new Set(readdirSync(newFileDir).map((name) => join(newFileDir, name)));
  return { texts, newFileDir, existing, defaultNamespace };
}

/**
 * Writes every file or none: each goes to a temporary file beside it first, and only when
 * all are written are they renamed into place.
 */
function writeAll(changes: readonly FileChange[]): void {
  const temps: Array<[string, string]> = [];
  try {
    for (const c of changes) {
      // A symlinked file is written where it points, and keeps its permissions.
      const target = c.before === undefined ? c.path : realpathSync(c.path);
      const mode = c.before === undefined ? 0o644 : statSync(target).mode & 0o7777;
      const temp = join(dirname(target), `.${basename(target)}.otter-fix-${process.pid}`);
      writeFileSync(temp, c.after, { flag: "wx", mode });
      chmodSync(temp, mode);
      temps.push([temp, target]);
    }
  } catch (e) {
    for (const [temp] of temps) rmSync(temp, { force: true });
    const failed = changes[temps.length];
    throw new InputError(`cannot write the fix, nothing was changed: ${(e as Error).message}`, {
      file: failed?.path ?? "",
    });
  }
  for (const [temp, path] of temps) renameSync(temp, path);
}

async function execute(inv: Invocation, io: Io): Promise<number> {
  const outcome = runCommand(inv, await gather(inv, io), styleFor(io));
  if (outcome.writes && outcome.writes.length > 0) writeAll(outcome.writes);
  for (const line of outcome.stderr ?? []) io.stderr(`${line}\n`);
  for (const chunk of outcome.stdout) io.stdout(chunk);
  const summaryFile = io.env.GITHUB_STEP_SUMMARY;
  if (outcome.stepSummary !== undefined && summaryFile) {
    try {
      appendFileSync(summaryFile, outcome.stepSummary);
    } catch (e) {
      // The verdict is on stdout already: a summary page that cannot be written does not
      // change it into a usage error.
      io.stderr(
        `warning: ${summaryFile}: cannot append the job summary: ${(e as Error).message}\n`,
      );
    }
  }
  return outcome.exitCode;
}

/**
 * `kubectl-otter __complete ARGS… WORD` (what kubectl_complete-otter runs): candidates for the
 * word, in cobra's protocol. Names from the cluster are added when it answers within a few
 * seconds; a completion never fails loudly.
 */
async function completion(args: readonly string[], io: Io): Promise<number> {
  const wanted = complete(args);
  let looked: string[] = [];
  if (wanted.lookup) {
    const words = args.slice(0, -1);
    const kubeconfig = flagIn(words, "kubeconfig");
    const context = flagIn(words, "context");
    const kube = {
      ...(kubeconfig !== undefined ? { kubeconfig } : {}),
      ...(context !== undefined ? { context } : {}),
      allNamespaces: false,
      requestTimeoutMs: 5000,
    };
    try {
      const { Cluster, ClusterObserved } = await import("./cluster-sources.js");
      const cluster = Cluster.connect(kube);
      if (wanted.lookup === "contexts") looked = cluster.contexts;
      else if (wanted.lookup === "namespaces") looked = await cluster.namespaceNames();
      else {
        const ns = wanted.namespace ?? cluster.contextNamespace ?? "default";
        const scope = { all: false, names: [ns] } as const;
        const observed = await new ClusterObserved(cluster, scope, "", io.clock()).observed();
        looked = [...new Set(observed.map((w) => w.name))].sort();
      }
    } catch (e) {
      io.stderr(`completion: ${e instanceof Error ? e.message : String(e)}\n`);
    }
  }
  io.stdout(renderCompletion(wanted, looked));
  return 0;
}

export async function main(argv: readonly string[], io: Io = processIo()): Promise<number> {
  if (argv[0] === "__complete" || argv[0] === "__completeNoDesc") {
    return completion(argv.slice(1), io);
  }
  try {
    const request = parseRequest(argv, { columns: io.columns ?? 80 });
    switch (request.kind) {
      case "help":
        io.stdout(request.text);
        return 0;
      case "version":
        io.stdout(`kubectl-otter ${VERSION} (Node.js ${process.version})\n`);
        return 0;
      case "run":
        return await execute(request.invocation, io);
    }
  } catch (e) {
    if (isTypedError(e)) {
      io.stderr(`error: ${e.message}\n`);
      if (e instanceof UsageError && e.command) {
        io.stderr(`See 'kubectl otter ${e.command} --help' for usage.\n`);
      }
      return 2;
    }
    const detail = e instanceof Error ? (e.stack ?? e.message) : String(e);
    io.stderr(`error: internal error, please report it: ${detail}\n`);
    return 2;
  }
}

/**
 * The process's run: main, then exit once stdout is flushed (an abandoned request to an
 * unreachable cluster must not keep the process alive). Output that could not be written (a
 * full disk, a closed pipe) is an error, exit 2, never a silent success.
 */
export async function runProcess(argv: readonly string[]): Promise<never> {
  let failed: Error | undefined;
  process.stdout.on("error", (e: Error) => (failed ??= e));
  let code: number;
  try {
    code = await main(argv);
  } catch (e) {
    failed ??= e instanceof Error ? e : new Error(String(e));
    code = 2;
  }
  return new Promise<never>(() => {
    process.stdout.write("", (e) => {
      const error = failed ?? e ?? undefined;
      if (error) {
        const why = (error as NodeJS.ErrnoException).code ?? error.message;
        process.stderr.write(`error: cannot write the output to stdout: ${why}\n`);
        process.exit(2);
      }
      process.exit(code);
    });
  });
}
