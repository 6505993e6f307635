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
