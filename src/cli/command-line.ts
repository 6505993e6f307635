import { Command, CommanderError, Option } from "commander";
import { UsageError } from "../errors.js";
import { describeCommand, kubectlHelp } from "./help.js";

/**
 * Commander, configured to read a command line the way kubectl (pflag) does: `--flag value`,
 * `--flag=value`, `-n value`, `-nvalue`, `-n=value`, grouped short flags (`-Ao json`), boolean
 * `--flag` and `--flag=false`, repeated flags, and `--`. Errors are UsageErrors in kubectl's
 * words; nothing is written and nothing exits here.
 */

export interface FlagSpec {
  readonly name: string;
  readonly short?: string;
  /** list: repeatable, every value kept in order. */
  readonly kind: "bool" | "string" | "list";
  readonly usage: string;
  /** The default, as help shows it (`--window='168h'`); strings without one show `''`. */
  readonly default?: string;
}

export type FlagValues = Map<string, string | boolean | string[]>;

const TRUE = ["true", "1", "t", "T", "TRUE", "True"];
const FALSE = ["false", "0", "f", "F", "FALSE", "False"];

const specs = new WeakMap<Option, FlagSpec>();

/** The spec an option was made from (help shows defaults from it). */
export function specOf(option: Option): FlagSpec | undefined {
  return specs.get(option);
}

/** The command's path as its help names it: "egress diff". */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

function takesValue(option: Option): boolean {
  return option.required || option.optional;
}

function findOption(cmd: Command, flag: string): Option | undefined {
  return cmd.options.find((o) => o.short === flag || o.long === flag);
}

/**
 * The two pflag forms commander does not read, rewritten into forms it does: `-n=dev` is
 * `-n dev`, and `--fix=false` is `--no-fix` (every boolean has a hidden negation).
 */
function pflagForms(cmd: Command, args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === "--") {
      out.push(...args.slice(i));
      break;
    }
    const short = /^(-[^-])=(.*)$/s.exec(arg);
    const shortOption = short ? findOption(cmd, short[1] as string) : undefined;
    if (short && shortOption && takesValue(shortOption)) {
      out.push(short[1] as string, short[2] as string);
      continue;
    }
    const long = /^(--[^=]+)=(.*)$/s.exec(arg);
    const bool = long ? findOption(cmd, long[1] as string) : shortOption;
    const given = long ?? short;
    if (given && bool?.long && !takesValue(bool) && !bool.negate) {
      const text = given[2] as string;
      if (TRUE.includes(text)) out.push(bool.long);
      else if (FALSE.includes(text)) out.push(`--no-${bool.long.slice(2)}`);
      else {
        throw new UsageError(
          `invalid argument "${text}" for "${given[1]}" flag: expected true or false`,
          commandPath(cmd),
        );
      }
      continue;
    }
    out.push(arg);
  }
  return out;
}

/** A commander Command that reads pflag's forms and reports errors as UsageErrors. */
export class KubeCommand extends Command {
  override createCommand(name?: string): KubeCommand {
    return new KubeCommand(name);
  }

  override parseOptions(argv: string[]): { operands: string[]; unknown: string[] } {
    return super.parseOptions(pflagForms(this, argv));
  }
}

/** Adds the flags to a command: lists accumulate, booleans get a hidden `--no-` twin. */
export function addFlags(cmd: Command, flags: readonly FlagSpec[]): Command {
  for (const spec of flags) {
    const names = `${spec.short ? `-${spec.short}, ` : ""}--${spec.name}`;
    const option = new Option(spec.kind === "bool" ? names : `${names} <value>`, spec.usage);
    if (spec.kind === "list") {
      option.argParser((value: string, previous: unknown) => [
        ...((previous as string[] | undefined) ?? []),
        value,
      ]);
    }
    specs.set(option, spec);
    cmd.addOption(option);
    if (spec.kind === "bool") cmd.addOption(new Option(`--no-${spec.name}`).hideHelp());
  }
  return cmd;
}

/** The values given on the command line, by flag name (absent when not given). */
export function flagValues(cmd: Command, flags: readonly FlagSpec[]): FlagValues {
  const values: FlagValues = new Map();
  for (const option of cmd.options) {
    const spec = specs.get(option);
    if (!spec || !flags.includes(spec)) continue;
    const value: unknown = cmd.getOptionValue(option.attributeName());
    if (value !== undefined) values.set(spec.name, value as string | boolean | string[]);
  }
  return values;
}

/** Did-you-mean text commander put under its message, as one clause. */
function suggestion(message: string): string {
  const m = /\(Did you mean (?:one of )?([^)]*)\?\)/.exec(message);
  return m ? ` (did you mean ${m[1]}?)` : "";
}

/**
 * The UsageError for a commander error, in kubectl's words, naming the command whose help
 * to see. Help and version output are not errors: undefined.
 */
function usageErrorFrom(err: CommanderError, cmd: Command): UsageError | undefined {
  const where = commandPath(cmd);
  const quoted = /'([^']*)'/.exec(err.message)?.[1] ?? "";
  if (isHelpExit(err)) return undefined;
  switch (err.code) {
    case "commander.unknownOption": {
      const text = quoted.startsWith("--")
        ? `unknown flag: ${quoted}`
        : `unknown shorthand flag: '${quoted.slice(1, 2)}' in ${quoted}`;
      return new UsageError(`${text}${suggestion(err.message)}`, where);
    }
    case "commander.unknownCommand": {
      const parent = ["kubectl otter", where].filter(Boolean).join(" ");
      const named = suggestion(err.message).replace(/ (\S+)\?\)$/, ' "$1"?)');
      return new UsageError(`unknown command "${quoted}" for "${parent}"${named}`, where);
    }
    case "commander.optionMissingArgument": {
      const long = /--[\w-]+/.exec(quoted)?.[0] ?? quoted;
      return new UsageError(`flag needs an argument: ${long}`, where);
    }
    case "commander.excessArguments": {
      const expected = Number(/Expected (\d+)/.exec(err.message)?.[1] ?? 0);
      const given = /got \d+: (.*)\.$/.exec(err.message)?.[1]?.split(", ") ?? [];
      const extra = given[expected] ?? "";
      return new UsageError(`unexpected argument "${extra}"`, where);
    }
    default:
      return new UsageError(err.message.replace(/^error: /, ""), where);
  }
}

export interface Captured {
  /** Help or version text commander wrote (stdout or, for a bare group, stderr). */
  text: string;
}

/**
 * Configures a program (and the subcommands it copies settings to) to write into `captured`.
 * Call before adding subcommands; throwUsageErrors, after, makes them throw instead of exit.
 */
export function captureOutput(cmd: Command, captured: Captured, columns: number): Command {
  return cmd.configureOutput({
    writeOut: (s) => (captured.text += s),
    writeErr: (s) => (captured.text += s),
    outputError: () => undefined,
    getOutHelpWidth: () => columns,
    getErrHelpWidth: () => columns,
    getOutHasColors: () => false,
    getErrHasColors: () => false,
  });
}

/**
 * Sets, on each command below `root`, the handler that turns commander's exits into
 * UsageErrors naming that command (or returns for help and version).
 */
export function throwUsageErrors(root: Command): void {
  const visit = (cmd: Command) => {
    cmd.exitOverride((err) => {
      const usage = usageErrorFrom(err, cmd);
      if (usage) throw usage;
      throw err;
    });
    cmd.commands.forEach(visit);
  };
  visit(root);
}

const HELP_EXITS = ["commander.helpDisplayed", "commander.help", "commander.version"];

/** Whether an error is commander's "help (or version) was written": not an error at all. */
export function isHelpExit(e: unknown): boolean {
  return e instanceof CommanderError && HELP_EXITS.includes(e.code);
}

export interface Parsed {
  readonly flags: FlagValues;
  readonly positionals: string[];
}

/** -h/--help was asked for: `text` is the answer (on stdout, exit 0), and nothing runs. */
export class HelpRequested extends Error {
  constructor(readonly text: string) {
    super("help requested");
    this.name = "HelpRequested";
  }
}

/**
 * A single command's flags (the servers' command lines): the flag values and the operands. A
 * flag not given has the default its spec declares, the one --help shows: a default is written
 * once, in the spec. `command` names it in errors.
 */
export function parseFlags(
  argv: readonly string[],
  flags: readonly FlagSpec[],
  command: string,
  about?: { readonly description: string; readonly usage: string },
): Parsed {
  const captured: Captured = { text: "" };
  const root = captureOutput(new KubeCommand(), captured, 80)
    .helpOption(false)
    .allowExcessArguments(true);
  const sub = root.command(command);
  const cmd = addFlags(
    about
      ? describeCommand(sub.description(about.description), { usage: about.usage })
          .helpOption("-h, --help", "Help for this command.")
          .configureHelp({ formatHelp: kubectlHelp })
      : sub.helpOption(false),
    flags,
  )
    .allowExcessArguments(true)
    .action(() => undefined);
  throwUsageErrors(root);
  try {
    root.parse([command, ...argv], { from: "user" });
  } catch (e) {
    if (isHelpExit(e)) throw new HelpRequested(captured.text);
    throw e;
  }
  const values = flagValues(cmd, flags);
  for (const spec of flags) {
    if (spec.default === undefined || values.has(spec.name)) continue;
    values.set(
      spec.name,
      spec.kind === "list"
        ? spec.default.split(",")
        : spec.kind === "bool"
          ? spec.default === "true"
          : spec.default,
    );
  }
  return { flags: values, positionals: [...cmd.args] };
}

/** The value of a string flag that has a default (parseFlags fills it in). */
export function stringWithDefault(values: FlagValues, name: string): string {
  const v = values.get(name);
  if (typeof v !== "string") throw new Error(`--${name} declares no default`);
  return v;
}
