import { parseDuration, parseTimestamp } from "../duration.js";
import { UsageError } from "../errors.js";
import { SUGGEST_VERSIONS, type SuggestVersion } from "../suggest-versions.js";
import type { Verdict } from "../verdicts.js";
import type { Command } from "commander";
import { VERSION } from "../version.js";
import {
  DEFAULT_CHUNK_SIZE,
  DEFAULT_FAILING,
  DEFAULT_NAMESPACE,
  DEFAULT_REQUEST_TIMEOUT,
  DEFAULT_WINDOW,
} from "./defaults.js";
import {
  addFlags,
  captureOutput,
  flagValues,
  isHelpExit,
  KubeCommand,
  throwUsageErrors,
  type Captured,
  type FlagSpec,
  type FlagValues,
} from "./command-line.js";
import { describeCommand, kubectlHelp } from "./help.js";

/**
 * The command line of `kubectl otter egress`: flags per command, their defaults, and
 * the typed options a command runs with. Pure: no environment is read here.
 */

export type CommandName = "diff" | "suggest" | "list";

export const OUTPUTS: Record<CommandName, readonly string[]> = {
  diff: ["table", "wide", "json", "yaml", "markdown", "github", "sarif", "junit"],
  suggest: ["yaml", "json"],
  list: ["table", "wide", "json", "yaml"],
};

export interface KubeFlags {
  readonly kubeconfig?: string;
  readonly context?: string;
  /** -n; undefined when not given (the context's namespace applies). */
  readonly namespace?: string;
  readonly allNamespaces: boolean;
  readonly requestTimeoutMs?: number;
  /** Objects per list request; 0: the whole list in one response. */
  readonly chunkSize?: number;
}

export interface Invocation {
  readonly command: CommandName;
  readonly kube: KubeFlags;
  readonly intents: readonly string[];
  readonly observed?: string;
  readonly windowMs: number;
  /** --now; undefined means the current time. */
  readonly now?: number;
  readonly failOn: ReadonlySet<Verdict>;
  readonly output: string;
  readonly includeUndeclared: boolean;
  readonly apiVersion: SuggestVersion;
  readonly collectorNamespace: string;
  /** suggest: the workload to write intents for; list: the workload to show (all when absent). */
  readonly workload?: string;
  /** diff --base: the intents as they are on the target branch. */
  readonly base: readonly string[];
  /** diff --fix: write the fix into the intents files (with dryRun: print it as a diff). */
  readonly fix: boolean;
  readonly dryRun: boolean;
}

export type Request =
  | { readonly kind: "run"; readonly invocation: Invocation }
  | { readonly kind: "help"; readonly text: string }
  | { readonly kind: "version" };

export { DEFAULT_WINDOW };

const KUBE_FLAGS: FlagSpec[] = [
  {
    name: "namespace",
    short: "n",
    kind: "string",
    usage: "The namespace to look at. Default: the context's namespace.",
  },
  {
    name: "all-namespaces",
    short: "A",
    kind: "bool",
    usage: "Look at every namespace; the context's namespace is ignored.",
  },
  { name: "kubeconfig", kind: "string", usage: "Path to the kubeconfig file to use." },
  { name: "context", kind: "string", usage: "The name of the kubeconfig context to use." },
  {
    name: "request-timeout",
    kind: "string",
    default: DEFAULT_REQUEST_TIMEOUT,
    usage:
      "How long to wait for a single server request: a duration such as 10s (0 is the default).",
  },
  {
    name: "chunk-size",
    kind: "string",
    default: DEFAULT_CHUNK_SIZE,
    usage:
      "Read large lists in chunks of this many objects rather than all at once. Pass 0 to disable.",
  },
];

const OBSERVED: FlagSpec = {
  name: "observed",
  kind: "string",
  usage:
    "Read ObservedEgress from this snapshot (as `kubectl get observedegresses -A -o yaml` saves it; - for stdin) instead of the cluster.",
};
const WINDOW: FlagSpec = {
  name: "window",
  kind: "string",
  default: DEFAULT_WINDOW,
  usage: "How far back observations count: a duration such as 72h or 90m, or days such as 7d.",
};
const NOW: FlagSpec = {
  name: "now",
  kind: "string",
  usage:
    "Judge as of this time, an RFC 3339 time such as 2026-11-25T10:00:00Z, for reproducible output. Default: the current time.",
};
const COLLECTOR_NS: FlagSpec = {
  name: "collector-namespace",
  kind: "string",
  default: DEFAULT_NAMESPACE,
  usage: "The namespace of the collector's Lease, which tells whether the collector is listening.",
};
const output = (command: CommandName): FlagSpec => ({
  name: "output",
  short: "o",
  kind: "string",
  default: OUTPUTS[command][0] as string,
  usage: `Output format. One of: (${OUTPUTS[command].join(", ")}).`,
});

export const COMMAND_FLAGS: Record<CommandName, FlagSpec[]> = {
  diff: [
    {
      name: "intents",
      short: "f",
      kind: "list",
      usage:
        "ClientIntents files or directories to judge (repeatable; - for stdin). Default: the ClientIntents applied in the cluster.",
    },
    OBSERVED,
    WINDOW,
    NOW,
    {
      name: "fail-on",
      kind: "list",
      default: DEFAULT_FAILING,
      usage: `The verdicts that make the exit code 1: a comma-separated list of missing, unnecessary and unverified (repeatable), or none.`,
    },
    {
      name: "base",
      kind: "list",
      usage:
        "ClientIntents as they are on the target branch (repeatable): targets the change adds are at worst unverified; targets it removes while still observed are its missing findings.",
    },
    {
      name: "fix",
      kind: "bool",
      usage:
        "Write the fix into the --intents files: add missing targets, remove unnecessary ones, create a file for a workload without ClientIntents.",
    },
    {
      name: "dry-run",
      kind: "bool",
      usage: "With --fix: print the change as a unified diff instead of writing it.",
    },
    {
      name: "include-undeclared",
      kind: "bool",
      usage:
        "With --intents: also judge observed workloads of those namespaces that no file declares.",
    },
    output("diff"),
    COLLECTOR_NS,
    ...KUBE_FLAGS,
  ],
  suggest: [
    OBSERVED,
    {
      name: "api-version",
      kind: "string",
      default: SUGGEST_VERSIONS[0],
      usage: `The ClientIntents version to write. One of: (${SUGGEST_VERSIONS.join(", ")}).`,
    },
    WINDOW,
    NOW,
    output("suggest"),
    ...KUBE_FLAGS,
  ],
  list: [OBSERVED, WINDOW, NOW, output("list"), ...KUBE_FLAGS],
};

const USAGE: Record<CommandName, string> = {
  diff: "kubectl otter egress diff [--intents PATH]... [--observed FILE] [-n NAMESPACE | -A] [flags]",
  suggest: "kubectl otter egress suggest [WORKLOAD] [-n NAMESPACE | -A] [--observed FILE] [flags]",
  list: "kubectl otter egress list [WORKLOAD] [-n NAMESPACE | -A] [--observed FILE] [flags]",
};

const SUMMARY: Record<CommandName, string> = {
  diff: "Print the drift between declared intents and observed egress",
  suggest: "Write ClientIntents that cover what was observed",
  list: "List observed egress",
};

const DESCRIPTION: Record<CommandName, string> = {
  diff: "Print the drift between declared ClientIntents and observed egress: missing targets (observed, not declared) and unnecessary ones (declared, unused).\n\nExit code: 0 no failing finding, 1 failing findings, 2 usage or input error.",
  suggest:
    "Write ClientIntents that cover every recent observed destination of the chosen workloads.",
  list: "List the egress observed for each workload.",
};

const EXAMPLES: Record<CommandName, string[]> = {
  diff: [
    "# Committed intents against a saved snapshot, as a PR check would",
    "kubectl otter egress diff --intents intents/ --observed observed.yaml",
    "",
    "# A pull request's intents against the target branch's, annotated for GitHub",
    "kubectl otter egress diff --intents intents/ --base base/intents/ --observed observed.yaml -o github",
    "",
    "# Preview, then write, the fix",
    "kubectl otter egress diff --intents intents/ --observed observed.yaml --fix --dry-run",
    "kubectl otter egress diff --intents intents/ --observed observed.yaml --fix",
    "",
    "# Everything applied in the cluster, as JSON",
    "kubectl otter egress diff -A -o json",
  ],
  suggest: [
    "# Intents for one workload, ready to commit",
    "kubectl otter egress suggest -n dev joke-worker > intents/joke-worker.yaml",
  ],
  list: [
    "# The egress observed in a namespace",
    "kubectl otter egress list -n dev",
    "",
    "# One workload's, with IPs and times",
    "kubectl otter egress list -n dev joke-worker -o wide",
  ],
};

export const COMMANDS = Object.keys(COMMAND_FLAGS) as CommandName[];

const ROOT_DESCRIPTION =
  "kubectl otter egress keeps Otterize ClientIntents honest against the egress your workloads really make.";

export interface Terminal {
  /** Help is wrapped to this many columns (80 when stdout is not a terminal). */
  readonly columns: number;
}

/**
 * The plugin's command tree: `kubectl otter egress diff|suggest|list`, `version`, and
 * commander's `help [command]` at each level. `onRun` receives the command a parse reached.
 */
export function pluginProgram(
  terminal: Terminal,
  captured: Captured,
  onRun: (request: Request) => void,
  /** The words of the command line: only the commands among them get their options. */
  named?: readonly string[],
): Command {
  const root = captureOutput(new KubeCommand("otter"), captured, terminal.columns)
    .description(ROOT_DESCRIPTION)
    .configureHelp({ formatHelp: kubectlHelp })
    .helpOption("-h, --help", "Help for this command.")
    .helpCommand("help [command]", "Help about any command")
    .version(`kubectl-otter ${VERSION}`, "--version", "Print the plugin's version.");
  describeCommand(root, { usage: "kubectl otter <command> [flags]" });
  root
    .command("version")
    .description("Print the plugin's version")
    .action(() => onRun({ kind: "version" }));
  const egress = root
    .command("egress")
    .description(`${ROOT_DESCRIPTION}\n\nEach command reads the cluster unless flags name files.`)
    .summary("Compare ClientIntents with observed egress");
  describeCommand(egress, { usage: "kubectl otter egress <command> [flags]" });
  // Commands are made only as far as the command line reaches: egress's when it names egress,
  // and then the one it names (all of them when it names none, to list them or to suggest one);
  // options only for a named command. Making every one would cost each start a few ms.
  const wanted = COMMANDS.filter((c) => named?.includes(c));
  const make =
    named === undefined
      ? COMMANDS
      : !named.includes("egress")
        ? []
        : wanted.length
          ? wanted
          : COMMANDS;
  for (const name of make) {
    const sub = egress.command(name).description(DESCRIPTION[name]).summary(SUMMARY[name]);
    if (named === undefined || named.includes(name)) addFlags(sub, COMMAND_FLAGS[name]);
    describeCommand(sub, { usage: USAGE[name], examples: EXAMPLES[name] });
    if (name === "suggest" || name === "list") sub.argument("[WORKLOAD]");
    sub.action(() =>
      onRun({
        kind: "run",
        invocation: toInvocation(name, flagValues(sub, COMMAND_FLAGS[name]), [...sub.args]),
      }),
    );
  }
  throwUsageErrors(root);
  return root;
}

function str(flags: FlagValues, name: string): string | undefined {
  const v = flags.get(name);
  return typeof v === "string" ? v : undefined;
}

/**
 * A list of failing verdicts (--fail-on, the webhook's --deny-on; their default is the flag's
 * own); `none` alone for no failing verdict. Repeated flags are one comma-separated list.
 */
export function parseVerdictList(
  given: string | readonly string[],
  flag = "--fail-on",
  command?: string,
): Set<Verdict> {
  const parts = (typeof given === "string" ? [given] : given)
    .flatMap((text) => text.split(","))
    .map((p) => p.trim());
  const allowed: Verdict[] = ["missing", "unnecessary", "unverified"];
  const expected = `expected a comma-separated list of ${allowed.join(", ")}, or none`;
  if (parts.includes("none")) {
    if (parts.every((p) => p === "none")) return new Set();
    throw new UsageError(
      `invalid value for ${flag}: none cannot be combined with verdicts`,
      command,
    );
  }
  const out = new Set<Verdict>();
  for (const part of parts) {
    if (!(allowed as string[]).includes(part)) {
      const shown = part === "" ? "an empty verdict" : `"${part}"`;
      throw new UsageError(`invalid value ${shown} for ${flag}: ${expected}`, command);
    }
    out.add(part as Verdict);
  }
  return out;
}

/**
 * Turns argv (after `kubectl otter`) into a request, or throws a UsageError. Help is laid out
 * for the terminal's width.
 */
export function parseRequest(
  argv: readonly string[],
  terminal: Terminal = { columns: 80 },
): Request {
  const captured: Captured = { text: "" };
  let request: Request | undefined;
  const program = pluginProgram(terminal, captured, (r) => (request = r), argv);
  try {
    program.parse([...argv], { from: "user" });
  } catch (e) {
    if (isHelpExit(e)) return { kind: "help", text: captured.text };
    throw e;
  }
  return request ?? { kind: "help", text: captured.text || program.helpInformation() };
}

/** The typed options of a command, from the flags and operands commander read. */
export function toInvocation(
  command: CommandName,
  flags: FlagValues,
  positionals: readonly string[],
): Invocation {
  const where = `egress ${command}`;
  const namespace = str(flags, "namespace");
  const allNamespaces = flags.get("all-namespaces") === true;
  if (namespace !== undefined && allNamespaces) {
    throw new UsageError("--namespace and --all-namespaces cannot be used together", where);
  }
  if (namespace === "") throw new UsageError("--namespace must not be empty", where);
  const nowText = str(flags, "now");
  const now = nowText === undefined ? undefined : parseTimestamp(nowText);
  if (nowText !== undefined && now === undefined) {
    throw new UsageError(
      `invalid value "${nowText}" for --now: expected an RFC 3339 time such as 2026-11-25T10:00:00Z`,
      where,
    );
  }
  // A flag's value, or the default its spec declares (and help shows).
  const orDefault = (name: string): string | undefined =>
    str(flags, name) ?? COMMAND_FLAGS[command].find((spec) => spec.name === name)?.default;
  const out = orDefault("output") as string;
  if (!OUTPUTS[command].includes(out)) {
    throw new UsageError(
      `unable to match a printer suitable for the output format "${out}", allowed formats are: ${OUTPUTS[command].join(",")}`,
      where,
    );
  }
  // (Only suggest has --api-version.)
  const apiVersion = orDefault("api-version") ?? SUGGEST_VERSIONS[0];
  if (!(SUGGEST_VERSIONS as readonly string[]).includes(apiVersion)) {
    throw new UsageError(
      `invalid value "${apiVersion}" for --api-version: expected ${SUGGEST_VERSIONS.join(" or ")}`,
      where,
    );
  }
  const timeout = str(flags, "request-timeout");
  const chunkText = orDefault("chunk-size") as string;
  if (!/^\d{1,9}$/.test(chunkText)) {
    throw new UsageError(
      `invalid argument "${chunkText}" for "--chunk-size" flag: not a whole number`,
      where,
    );
  }
  const kubeconfig = str(flags, "kubeconfig");
  const context = str(flags, "context");
  const observed = str(flags, "observed");
  const intents = (flags.get("intents") as string[] | undefined) ?? [];
  const workload = positionals[0];
  const base = (flags.get("base") as string[] | undefined) ?? [];
  const fix = flags.get("fix") === true;
  const dryRun = flags.get("dry-run") === true;
  if (dryRun && !fix) throw new UsageError("--dry-run only applies with --fix", where);
  if ((fix || base.length > 0) && intents.length === 0) {
    throw new UsageError(`--${fix ? "fix" : "base"} needs --intents (the files to judge)`, where);
  }
  if (fix && intents.includes("-")) {
    throw new UsageError("--fix cannot write to stdin: give --intents as files", where);
  }
  if (fix && flags.has("output")) {
    throw new UsageError("--fix prints what it changes; it cannot be combined with -o", where);
  }
  const stdinReaders = [...intents, ...base].filter((p) => p === "-").length;
  if (stdinReaders + (observed === "-" ? 1 : 0) > 1) {
    throw new UsageError("only one of --intents, --base and --observed can read stdin (-)", where);
  }
  const invocation: Invocation = {
    command,
    kube: {
      ...(kubeconfig !== undefined ? { kubeconfig } : {}),
      ...(context !== undefined ? { context } : {}),
      ...(namespace !== undefined ? { namespace } : {}),
      allNamespaces,
      ...(timeout !== undefined && parseDuration(timeout, "--request-timeout", true) > 0
        ? { requestTimeoutMs: parseDuration(timeout, "--request-timeout", true) }
        : {}),
      chunkSize: Number(chunkText),
    },
    intents,
    ...(observed !== undefined ? { observed } : {}),
    windowMs: parseDuration(orDefault("window") as string, "--window"),
    ...(now !== undefined ? { now } : {}),
    failOn: parseVerdictList(
      // (Only diff has --fail-on; its default is the one constant.)
      (flags.get("fail-on") as string[] | undefined) ?? orDefault("fail-on") ?? DEFAULT_FAILING,
      "--fail-on",
      where,
    ),
    output: out,
    includeUndeclared: flags.get("include-undeclared") === true,
    apiVersion: apiVersion as SuggestVersion,
    collectorNamespace: orDefault("collector-namespace") as string,
    ...(workload !== undefined ? { workload } : {}),
    base,
    fix,
    dryRun,
  };
  return invocation;
}
