import type { Command, Help, Option } from "commander";
import { commandPath, specOf } from "./command-line.js";

/**
 * Help in kubectl's layout: the description, examples, each option as `--name=default:` with
 * its text indented by a tab and wrapped to the terminal, the usage line, and the pointer to
 * subcommands' help. Defaults are kubectl's: `=false` for a boolean, `=[]` for a repeatable
 * flag, `='168h'` for a string with a default and `=''` for one without, so a default is never
 * mistaken for a placeholder.
 */

export interface HelpExtras {
  readonly examples?: readonly string[];
  readonly usage: string;
}

const extras = new WeakMap<Command, HelpExtras>();

/** Attaches the examples and the usage line help shows for a command. */
export function describeCommand(cmd: Command, more: HelpExtras): Command {
  extras.set(cmd, more);
  return cmd;
}

/** Code-point order (localeCompare would load ICU's collator: milliseconds at every start). */
const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The width a tab takes on a terminal. */
const TAB = 8;

/** Splits text into lines of at most `width` columns at spaces (a longer word stays whole). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split("\n")) {
    let line = "";
    for (const word of paragraph.split(/ +/)) {
      if (line !== "" && line.length + 1 + word.length > width) {
        lines.push(line);
        line = word;
      } else line = line === "" ? word : `${line} ${word}`;
    }
    lines.push(line);
  }
  return lines;
}

function optionDefault(option: Option): string {
  const spec = specOf(option);
  if (!spec) return "=false"; // commander's -h, --help
  if (spec.kind === "bool") return "=false";
  if (spec.kind === "list") return `=[${spec.default ?? ""}]`;
  return `='${spec.default ?? ""}'`;
}

function optionTerm(option: Option): string {
  const short = option.short ? `${option.short}, ` : "";
  return `    ${short}${option.long ?? ""}${optionDefault(option)}:`;
}

export function kubectlHelp(cmd: Command, helper: Help): string {
  const width = Math.max(40, helper.helpWidth ?? 80);
  const out: string[] = [];
  out.push(...wrap(cmd.description(), width), "");
  const more = extras.get(cmd);
  if (more?.examples && more.examples.length > 0) {
    out.push("Examples:", ...more.examples.map((e) => (e ? `  ${e}` : "")), "");
  }
  const commands = helper.visibleCommands(cmd).sort((a, b) => byText(a.name(), b.name()));
  if (commands.length > 0) {
    const pad = Math.max(...commands.map((c) => c.name().length)) + 4;
    out.push("Available Commands:");
    for (const c of commands) {
      const summary = wrap(c.summary() || c.description().split("\n")[0] || "", width - pad - 2);
      out.push(`  ${c.name().padEnd(pad)}${summary[0] ?? ""}`);
      for (const rest of summary.slice(1)) out.push(`  ${" ".repeat(pad)}${rest}`);
    }
    out.push("");
  }
  // Sorted by long name, as kubectl lists them.
  const options = helper.visibleOptions(cmd).sort((a, b) => byText(a.long ?? "", b.long ?? ""));
  if (options.length > 0) {
    out.push("Options:");
    for (const option of options) {
      out.push(optionTerm(option));
      out.push(...wrap(option.description, width - TAB).map((l) => `\t${l}`), "");
    }
  }
  const path = ["kubectl otter", commandPath(cmd)].filter(Boolean).join(" ");
  out.push("Usage:", `  ${more?.usage ?? `${path} [flags]`}`, "");
  if (commands.length > 0) {
    out.push(`Use "${path} <command> --help" for more information about a given command.`);
  }
  return `${out.join("\n").replace(/\n+$/, "")}\n`;
}
