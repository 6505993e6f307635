import { SUGGEST_VERSIONS } from "../suggest-versions.js";
import type { FlagSpec } from "./command-line.js";
import { flagIn } from "./words.js";
import { COMMAND_FLAGS, COMMANDS, OUTPUTS, type CommandName } from "./invocation.js";

/**
 * Shell completion in cobra's `__complete` protocol, which kubectl (1.26+) speaks to a
 * plugin's `kubectl_complete-otter`: the words typed after `kubectl otter`, the last one the
 * word being completed, in; candidates (one per line, a tab before a description) and a line
 * `:<directive>` out. Pure: what needs the cluster (namespaces, workloads, contexts) is asked
 * for as a lookup, which the entry point answers.
 */

/** cobra's ShellCompDirective bits. */

export const DIRECTIVE = {
  default: 0,
  noSpace: 2,
  noFileComp: 4,
  filterFileExt: 8,
} as const;

export type Lookup = "namespaces" | "workloads" | "contexts";

export interface Completion {
  readonly candidates: readonly string[];
  readonly directive: number;
  /** Names the cluster holds, to add to the candidates (each after `prefix`). */
  readonly lookup?: Lookup;
  /** The namespace -n named, for a workloads lookup. */
  readonly namespace?: string;
  /** What a looked-up name is completed after (`--namespace=`). */
  readonly prefix?: string;
  /** The word being completed: looked-up names are those that start with it. */
  readonly word?: string;
}

const ROOT = ["egress\tCompare ClientIntents with observed egress", "version\tPrint the version"];
const EGRESS: Record<CommandName, string> = {
  diff: "Print the drift between declared intents and observed egress",
  suggest: "Write ClientIntents that cover what was observed",
  list: "List observed egress",
};

function filtered(candidates: readonly string[], word: string): string[] {
  return candidates.filter((c) => c.startsWith(word));
}

function flagOf(specs: readonly FlagSpec[], word: string): FlagSpec | undefined {
  if (word.startsWith("--")) return specs.find((s) => `--${s.name}` === word);
  if (/^-[^-]$/.test(word)) return specs.find((s) => s.short === word.slice(1));
  return undefined;
}

function valuesOf(command: CommandName, spec: FlagSpec, word: string, prefix: string): Completion {
  const list = (values: readonly string[]): Completion => ({
    candidates: filtered(
      values.map((v) => `${prefix}${v}`),
      `${prefix}${word}`,
    ),
    directive: DIRECTIVE.noFileComp,
  });
  switch (spec.name) {
    case "namespace":
      return {
        candidates: [],
        directive: DIRECTIVE.noFileComp,
        lookup: "namespaces",
        prefix,
        word,
      };
    case "context":
      return { candidates: [], directive: DIRECTIVE.noFileComp, lookup: "contexts", prefix, word };
    case "output":
      return list(OUTPUTS[command]);
    case "api-version":
      return list(SUGGEST_VERSIONS);
    case "fail-on":
      return list(["missing", "unnecessary", "unverified", "missing,unnecessary", "none"]);
    case "intents":
    case "base":
      // Files ending in .yaml or .yml, and directories.
      return { candidates: ["yaml", "yml"], directive: DIRECTIVE.filterFileExt };
    case "observed":
    case "kubeconfig":
      return { candidates: [], directive: DIRECTIVE.default };
    default:
      return { candidates: [], directive: DIRECTIVE.noFileComp };
  }
}

export function complete(args: readonly string[]): Completion {
  const words = args.slice(0, -1);
  const word = args[args.length - 1] ?? "";
  const none: Completion = { candidates: [], directive: DIRECTIVE.noFileComp };
  if (words.length === 0)
    return { candidates: filtered(ROOT, word), directive: DIRECTIVE.noFileComp };
  if (words[0] !== "egress") return none;
  if (words.length === 1) {
    const names = COMMANDS.map((c) => `${c}\t${EGRESS[c]}`);
    return { candidates: filtered(names, word), directive: DIRECTIVE.noFileComp };
  }
  const command = words[1] as CommandName;
  if (!COMMANDS.includes(command)) return none;
  const specs = COMMAND_FLAGS[command];
  const rest = words.slice(2);
  const dashDash = rest.indexOf("--");
  const previous = rest[rest.length - 1];
  const pending = previous !== undefined && dashDash < 0 ? flagOf(specs, previous) : undefined;
  if (pending && pending.kind !== "bool") return valuesOf(command, pending, word, "");
  if (dashDash < 0 && word.startsWith("-")) {
    const eq = /^(--[^=]+)=(.*)$/.exec(word);
    const spec = eq ? flagOf(specs, eq[1] as string) : undefined;
    if (eq && spec && spec.kind !== "bool") {
      return valuesOf(command, spec, eq[2] as string, `${eq[1]}=`);
    }
    const flags = specs.map((s) => `--${s.name}\t${s.usage.split(/(?<=\.) /)[0] ?? ""}`);
    return { candidates: filtered(flags, word), directive: DIRECTIVE.noFileComp };
  }
  if (command === "suggest") {
    const ns = flagIn(rest, "namespace", "n");
    return {
      candidates: [],
      directive: DIRECTIVE.noFileComp,
      lookup: "workloads",
      word,
      ...(ns !== undefined ? { namespace: ns } : {}),
    };
  }
  return none;
}

/** The protocol's text: candidates, then the directive line. */
export function renderCompletion(c: Completion, looked: readonly string[] = []): string {
  const found = looked
    .filter((name) => name.startsWith(c.word ?? ""))
    .map((name) => `${c.prefix ?? ""}${name}`);
  return [...c.candidates, ...found, `:${c.directive}`].map((l) => `${l}\n`).join("");
}
