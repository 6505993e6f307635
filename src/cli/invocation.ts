import { parseDuration, parseTimestamp } from "../duration.js";
import { UsageError } from "../errors.js";
import { SUGGEST_VERSIONS, type SuggestVersion } from "../suggest.js";
import { VERDICTS, type Verdict } from "../verdicts.js";
import { flagHelp, parseFlags, type FlagSpec, type FlagValues } from "./flags.js";

/**
 * The command line of `kubectl otter egress`: flags per command, their defaults, and
 * the typed options a command runs with. Pure: no environment is read here.
 */

export type CommandName = "diff" | "suggest" | "list";

export const OUTPUTS: Record<CommandName, readonly string[]> = {
  diff: ["table", "json", "yaml", "markdown", "github", "sarif", "junit"],
  suggest: ["yaml", "json"],
  list: ["table", "json", "yaml"],
};

export interface KubeFlags {
  readonly kubeconfig?: string;
  readonly context?: string;
  /** -n; undefined when not given (the context's namespace applies). */
  readonly namespace?: string;
  readonly allNamespaces: boolean;
  readonly requestTimeoutMs?: number;
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
  /** suggest: the workload to write intents for (all in scope when absent). */
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

export const DEFAULT_WINDOW = "168h";

const KUBE_FLAGS: FlagSpec[] = [
  {
    name: "namespace",
    short: "n",
    kind: "string",
    usage: "The namespace to look at (default: the context's namespace).",
    placeholder: "NS",
  },
  { name: "all-namespaces", short: "A", kind: "bool", usage: "Look at every namespace." },
  {
    name: "kubeconfig",
    kind: "string",
    usage: "Path to the kubeconfig file to use.",
    placeholder: "FILE",
  },
  {
    name: "context",
    kind: "string",
    usage: "The name of the kubeconfig context to use.",
    placeholder: "NAME",
  },
  {
    name: "request-timeout",
    kind: "string",
    usage: "How long to wait for a single server request (e.g. 10s).",
    placeholder: "DURATION",
  },
  { name: "help", short: "h", kind: "bool", usage: "Help for this command." },
];

const OBSERVED: FlagSpec = {
  name: "observed",
  kind: "string",
  usage:
    "Read ObservedEgress from this snapshot (`kubectl get oe -A -o yaml`, `-` for stdin) instead of the cluster.",
  placeholder: "FILE",
};
const WINDOW: FlagSpec = {
  name: "window",
  kind: "string",
  usage: "How far back observations count (Go duration, or days: 7d).",
  placeholder: DEFAULT_WINDOW,
};
const NOW: FlagSpec = {
  name: "now",
  kind: "string",
  usage: "Judge as of this time (RFC 3339), for reproducible output.",
  placeholder: "RFC3339",
};
const COLLECTOR_NS: FlagSpec = {
  name: "collector-namespace",
  kind: "string",
  usage: "Namespace of the collector's Lease.",
  placeholder: "otter-egress",
};
const output = (command: CommandName): FlagSpec => ({
  name: "output",
  short: "o",
  kind: "string",
  usage: `Output format: ${OUTPUTS[command].join("|")}.`,
  placeholder: OUTPUTS[command][0],
});

export const COMMAND_FLAGS: Record<CommandName, FlagSpec[]> = {
  diff: [
    {
      name: "intents",
      short: "f",
      kind: "list",
      usage:
        "ClientIntents files or directories (repeatable; `-` for stdin). Default: the cluster's.",
      placeholder: "PATH",
    },
    OBSERVED,
    WINDOW,
    NOW,
    {
      name: "fail-on",
      kind: "string",
      usage: `Verdicts that make the exit code 1: a list of ${VERDICTS.filter((v) => v !== "matched" && v !== "n/a").join(",")}, or none.`,
      placeholder: "missing,unnecessary",
    },
    {
      name: "base",
      kind: "list",
      usage:
        "ClientIntents as they are on the target branch (repeatable): targets the change adds are at worst unverified; targets it removes while still observed are its missing findings.",
      placeholder: "PATH",
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
      usage: `ClientIntents version to write: ${SUGGEST_VERSIONS.join("|")}.`,
      placeholder: "v2beta1",
    },
    WINDOW,
    NOW,
    output("suggest"),
    ...KUBE_FLAGS,
  ],
  list: [OBSERVED, WINDOW, NOW, output("list"), ...KUBE_FLAGS],
};

const SYNOPSIS: Record<CommandName, string> = {
  diff: "kubectl otter egress diff [--intents PATH]... [--observed FILE] [-n NS | -A] [flags]",
  suggest: "kubectl otter egress suggest [WORKLOAD] [-n NS | -A] [--observed FILE] [flags]",
  list: "kubectl otter egress list [-n NS | -A] [--observed FILE] [flags]",
};

const SUMMARY: Record<CommandName, string> = {
  diff: "Print the drift between declared ClientIntents and observed egress: missing targets (observed, not declared) and unnecessary ones (declared, unused).\nExit code: 0 no failing finding, 1 failing findings, 2 usage or input error.",
  suggest:
    "Write ClientIntents that cover every recent observed destination of the chosen workloads.",
  list: "List the egress observed for each workload.",
};

const EXAMPLES: Record<CommandName, string[]> = {
  diff: [
    "# Committed intents against a saved snapshot, as a PR check would",
    "kubectl otter egress diff --intents intents/ --observed observed.yaml",
    "# A pull request's intents against the target branch's, annotated for GitHub",
    "kubectl otter egress diff --intents intents/ --base base/intents/ --observed observed.yaml -o github",
    "# Preview, then write, the fix",
    "kubectl otter egress diff --intents intents/ --observed observed.yaml --fix --dry-run",
    "kubectl otter egress diff --intents intents/ --observed observed.yaml --fix",
    "# Everything applied in the cluster, as JSON",
    "kubectl otter egress diff -A -o json",
  ],
  suggest: [
    "# Intents for one workload, ready to commit",
    "kubectl otter egress suggest -n dev joke-worker > intents/joke-worker.yaml",
  ],
  list: ["kubectl otter egress list -n dev"],
};

export function commandHelp(command: CommandName): string {
  return [
    SUMMARY[command],
    "",
    "Examples:",
    ...EXAMPLES[command].map((e) => `  ${e}`),
    "",
    "Options:",
    ...flagHelp(COMMAND_FLAGS[command]),
    "",
    "Usage:",
    `  ${SYNOPSIS[command]}`,
    "",
  ].join("\n");
}

export function rootHelp(): string {
  return [
    "kubectl otter egress keeps Otterize ClientIntents honest against the egress your workloads really make.",
    "",
    "Commands:",
    "  diff      Print the drift between declared intents and observed egress",
    "  suggest   Write ClientIntents that cover what was observed",
    "  list      List observed egress",
    "",
    "Usage:",
    "  kubectl otter egress <command> [flags]",
    "  kubectl otter version",
    "",
    'Use "kubectl otter egress <command> --help" for more information about a command.',
    "",
  ].join("\n");
}

function str(flags: FlagValues, name: string): string | undefined {
  const v = flags.get(name);
  return typeof v === "string" ? v : undefined;
}

/** A list of failing verdicts (--fail-on, the webhook's --deny-on): missing,unnecessary by default. */
export function parseVerdictList(
  text: string | undefined,
  flag = "--fail-on",
  command?: string,
): Set<Verdict> {
  if (text === undefined) return new Set<Verdict>(["missing", "unnecessary"]);
  if (text === "none" || text === "") return new Set();
  const allowed: Verdict[] = ["missing", "unnecessary", "unverified"];
  const out = new Set<Verdict>();
  for (const part of text.split(",").map((p) => p.trim())) {
    if (!(allowed as string[]).includes(part)) {
      throw new UsageError(
        `invalid value "${part}" for ${flag}: expected a list of ${allowed.join(",")}, or none`,
        command,
      );
    }
    out.add(part as Verdict);
  }
  return out;
}

/** Turns argv (after `kubectl otter`) into a request, or throws a UsageError. */
export function parseRequest(argv: readonly string[]): Request {
  const [group, sub, ...rest] = argv;
  if (group === undefined || group === "-h" || group === "--help" || group === "help") {
    return { kind: "help", text: rootHelp() };
  }
  if (group === "version" || group === "--version") return { kind: "version" };
  if (group !== "egress") throw new UsageError(`unknown command "${group}" for "kubectl otter"`);
  if (sub === undefined || sub === "-h" || sub === "--help" || sub === "help") {
    return { kind: "help", text: rootHelp() };
  }
  if (!(sub in COMMAND_FLAGS)) {
    throw new UsageError(`unknown command "${sub}" for "kubectl otter egress"`);
  }
  const command = sub as CommandName;
  const where = `egress ${command}`;
  const { flags, positionals } = parseFlags(rest, COMMAND_FLAGS[command], where);
  if (flags.get("help") === true) return { kind: "help", text: commandHelp(command) };

  const maxPositionals = command === "suggest" ? 1 : 0;
  if (positionals.length > maxPositionals) {
    throw new UsageError(`unexpected argument "${positionals[maxPositionals]}"`, where);
  }
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
  const out = str(flags, "output") ?? (OUTPUTS[command][0] as string);
  if (!OUTPUTS[command].includes(out)) {
    throw new UsageError(
      `unable to match a printer suitable for the output format "${out}", allowed formats are: ${OUTPUTS[command].join(",")}`,
      where,
    );
  }
  const apiVersion = str(flags, "api-version") ?? "v2beta1";
  if (!(SUGGEST_VERSIONS as readonly string[]).includes(apiVersion)) {
    throw new UsageError(
      `invalid value "${apiVersion}" for --api-version: expected ${SUGGEST_VERSIONS.join(" or ")}`,
      where,
    );
  }
  const timeout = str(flags, "request-timeout");
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
      ...(timeout !== undefined && timeout !== "0"
        ? { requestTimeoutMs: parseDuration(timeout, "--request-timeout") }
        : {}),
    },
    intents,
    ...(observed !== undefined ? { observed } : {}),
    windowMs: parseDuration(str(flags, "window") ?? DEFAULT_WINDOW, "--window"),
    ...(now !== undefined ? { now } : {}),
    failOn: parseVerdictList(str(flags, "fail-on"), "--fail-on", where),
    output: out,
    includeUndeclared: flags.get("include-undeclared") === true,
    apiVersion: apiVersion as SuggestVersion,
    collectorNamespace: str(flags, "collector-namespace") ?? "otter-egress",
    ...(workload !== undefined ? { workload } : {}),
    base,
    fix,
    dryRun,
  };
  return { kind: "run", invocation };
}
