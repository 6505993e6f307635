import { readFileSync } from "node:fs";
import { resolve } from "node:path";

/**
 * The plugin as users run it: bin/kubectl-otter.js with the V8 flags its first line and the
 * single binary give it (cmd/plugin-exec-argv.json), under this Node.
 */
const PLUGIN_EXEC_ARGV = JSON.parse(
  readFileSync(resolve("cmd/plugin-exec-argv.json"), "utf8"),
) as string[];

export function pluginCommand(): string[] {
  return [process.execPath, ...PLUGIN_EXEC_ARGV, resolve("bin/kubectl-otter.js")];
}

/** `egress diff` of intents against a snapshot, as of the generated data's time, as JSON. */
export function snapshotDiff(intents: string, observed: string): string[] {
  return [
    ...pluginCommand(),
    "egress",
    "diff",
    "--intents",
    intents,
    "--observed",
    observed,
    "--now",
    "2026-11-25T10:00:00Z",
    "-o",
    "json",
  ];
}
