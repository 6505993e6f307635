import { readFileSync } from "node:fs";
import { parseRequest, type Invocation } from "../src/cli/invocation.js";
import { filesScope, namespaceScope, runCommand, type Gathered } from "../src/cli/run.js";
import type { ClientIntents } from "../src/client-intents.js";
import { isTypedError, UsageError } from "../src/errors.js";
import type { Style } from "../src/render/style.js";
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
  clock(): number;
}

const VERSION = "0.1.0";

function processIo(): Io {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    stdin: () => readFileSync(0, "utf8"),
    env: process.env,
    isTTY: process.stdout.isTTY === true,
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
  if (inv.command === "diff") {
    const source: IntentsSource =
      inv.intents.length > 0
        ? new IntentsFiles(inv.intents, io.stdin)
        : new (loaded(k8s).ClusterIntents)(cluster as Cluster, namespaces);
    intents = await source.intents(defaultNamespace);
  }
  const scope =
    inv.command === "diff" && intentsFromFiles ? filesScope(inv, namespaces, intents) : namespaces;
  const observed: ObservedSource = observedFromFile
    ? new ObservedSnapshot(inv.observed as string, io.stdin)
    : new (loaded(k8s).ClusterObserved)(cluster as Cluster, scope, inv.collectorNamespace, now);
  const [observedList, listening] = await Promise.all([
    observed.observed(),
    inv.command === "diff" ? observed.listening() : Promise.resolve({ state: "snapshot" } as const),
  ]);
  return {
    intents,
    intentsFromFiles,
    observed: observedList,
    listening,
    now,
    namespaces: scope,
  };
}

async function execute(inv: Invocation, io: Io): Promise<number> {
  const outcome = runCommand(inv, await gather(inv, io), styleFor(io));
  for (const chunk of outcome.stdout) io.stdout(chunk);
  return outcome.exitCode;
}

export async function main(argv: readonly string[], io: Io = processIo()): Promise<number> {
  try {
    const request = parseRequest(argv);
    switch (request.kind) {
      case "help":
        io.stdout(request.text);
        return 0;
      case "version":
        io.stdout(`kubectl-otter ${VERSION}\n`);
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
