import { isatty } from "node:tty";
import {
  appendFileSync,
  chmodSync,
  realpathSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import type * as ClusterSourcesModule from "./cluster-sources.js";
import type { Completion } from "../src/cli/complete.js";
import { flagIn } from "../src/cli/words.js";
import type { FixContext } from "../src/cli/fix.js";
import type { FileChange } from "../src/fix/plan.js";
import type { Invocation } from "../src/cli/invocation.js";
import { filesScope, namespaceScope, runCommand, type Gathered } from "../src/cli/run.js";
import type { ClientIntents } from "../src/client-intents.js";
import { InputError } from "../src/errors.js";
import type { Style } from "../src/render/style.js";
import type { IntentsSource, ObservedSource } from "../src/sources.js";
import type { Cluster } from "./cluster-sources.js";
import { IntentsFiles, ObservedSnapshot } from "./file-sources.js";
import { diffByNamespace, judgedByNamespace } from "./streamed-diff.js";
import type { Io } from "./kubectl-otter.js";

/**
 * A command's run: gather → decide → render, and the writes of --fix. Loaded only when a
 * command runs, so that help, version and completion start without the engine.
 */

function styleFor(io: Io): Style {
  const noColor = io.env.NO_COLOR !== undefined && io.env.NO_COLOR !== "";
  return {
    color: io.isTTY && !noColor && io.env.TERM !== "dumb",
    width: io.columns ?? 80,
  };
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
/** Which inputs come from files rather than the cluster. */
function fromFiles(inv: Invocation): { observed: boolean; intents: boolean } {
  return {
    observed: inv.observed !== undefined,
    intents: inv.command !== "diff" || inv.intents.length > 0,
  };
}

async function gather(inv: Invocation, io: Io): Promise<Gathered> {
  const files = fromFiles(inv);
  // The Kubernetes client is loaded only when the cluster is read: --help and file-only runs
  // start without it (it is most of the plugin's code).
  const k8s = files.observed && files.intents ? undefined : await import("./cluster-sources.js");
  const cluster = k8s?.Cluster.connect(inv.kube);
  const stopProgress = cluster ? showProgress(cluster, io) : () => undefined;
  try {
    return await gatherFrom(inv, io, files, k8s, cluster);
  } finally {
    stopProgress();
  }
}

/**
 * On a terminal, a read that takes longer than a second says how far it is on stderr (one
 * line, rewritten, cleared at the end); a pipe or a file gets nothing.
 */
function showProgress(cluster: Cluster, io: Io): () => void {
  if (!isatty(2)) return () => undefined;
  const started = Date.now();
  let shown = false;
  cluster.progress = (plural, read) => {
    if (Date.now() - started < 1000) return;
    shown = true;
    // Cleared to the end: the two lists of a diff take turns on the line.
    io.stderr(`\rreading ${plural}: ${read}\x1b[K`);
  };
  return () => {
    cluster.progress = undefined;
    if (shown) io.stderr("\r\x1b[K");
  };
}

async function gatherFrom(
  inv: Invocation,
  io: Io,
  fromFile: { observed: boolean; intents: boolean },
  k8s: typeof ClusterSourcesModule | undefined,
  cluster: Cluster | undefined,
): Promise<Gathered> {
  const { observed: observedFromFile, intents: intentsFromFiles } = fromFile;
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
    workloadScope: intentsFromFiles ? "declared" : "namespaces",
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

export async function execute(inv: Invocation, io: Io): Promise<number> {
  if (judgedByNamespace(inv)) {
    const k8s = await import("./cluster-sources.js");
    const cluster = k8s.Cluster.connect(inv.kube);
    const stopProgress = showProgress(cluster, io);
    let judged: Awaited<ReturnType<typeof diffByNamespace>>;
    try {
      judged = await diffByNamespace(inv, io, k8s, cluster);
    } finally {
      stopProgress();
    }
    if (judged) {
      let n = 0;
      for (const chunk of judged.stdout) {
        io.stdout(chunk);
        // Between tasks V8 frees the buffers of what was written (see collectYoung).
        if (++n % 8 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      return judged.exitCode;
    }
  }
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
 * The names a completion asks the cluster for (namespaces, contexts, a namespace's observed
 * workloads), within 5 seconds.
 */
export async function namesToComplete(
  wanted: Completion,
  args: readonly string[],
  io: Io,
): Promise<string[]> {
  const words = args.slice(0, -1);
  const kubeconfig = flagIn(words, "kubeconfig");
  const context = flagIn(words, "context");
  const { Cluster, ClusterObserved } = await import("./cluster-sources.js");
  const cluster = Cluster.connect({
    ...(kubeconfig !== undefined ? { kubeconfig } : {}),
    ...(context !== undefined ? { context } : {}),
    allNamespaces: false,
    requestTimeoutMs: 5000,
  });
  if (wanted.lookup === "contexts") return cluster.contexts;
  if (wanted.lookup === "namespaces") return cluster.namespaceNames();
  const ns = wanted.namespace ?? cluster.contextNamespace ?? "default";
  const observed = await new ClusterObserved(
    cluster,
    { all: false, names: [ns] },
    "",
    io.clock(),
  ).observed();
  return [...new Set(observed.map((w) => w.name))].sort();
}
