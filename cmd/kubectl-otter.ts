import { readFileSync } from "node:fs";
import { parseRequest, type Invocation } from "../src/cli/invocation.js";
import { namespaceScope, runCommand } from "../src/cli/run.js";
import { isTypedError, UsageError } from "../src/errors.js";
import type { Style } from "../src/render/style.js";
import type { IntentsSource, ObservedSource } from "../src/sources.js";
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

function clusterNotYet(what: string): never {
  throw new UsageError(
    `reading ${what} from a cluster is not available in this build: pass ${what === "ObservedEgress" ? "--observed FILE" : "--intents PATH"}`,
  );
}

function sourcesFor(
  inv: Invocation,
  io: Io,
): { observed: ObservedSource; intents: IntentsSource | undefined } {
  const observed =
    inv.observed !== undefined
      ? new ObservedSnapshot(inv.observed, io.stdin)
      : clusterNotYet("ObservedEgress");
  if (inv.command !== "diff") return { observed, intents: undefined };
  const intents =
    inv.intents.length > 0
      ? new IntentsFiles(inv.intents, io.stdin)
      : clusterNotYet("ClientIntents");
  return { observed, intents };
}

async function execute(inv: Invocation, io: Io): Promise<number> {
  const { observed, intents } = sourcesFor(inv, io);
  const offline = observed.offline && (intents === undefined || intents.fromFiles);
  const contextNamespace = undefined;
  const namespaces = namespaceScope(inv, offline, contextNamespace);
  const defaultNamespace = inv.kube.namespace ?? contextNamespace ?? "default";
  const [intentList, observedList, listening] = await Promise.all([
    intents ? intents.intents(defaultNamespace) : Promise.resolve([]),
    observed.observed(),
    observed.listening(),
  ]);
  const outcome = runCommand(
    inv,
    {
      intents: intentList,
      intentsFromFiles: intents?.fromFiles ?? true,
      observed: observedList,
      listening,
      now: inv.now ?? io.clock(),
      namespaces,
    },
    styleFor(io),
  );
  io.stdout(outcome.stdout);
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
