import { HelpRequested } from "../src/cli/command-line.js";
import { isTypedError } from "../src/errors.js";
import { flushLogs } from "../server/log.js";

/**
 * Runs a server's main and maps its end to an exit code: its own code, 0 after --help, or 2
 * with one line on stderr for an error (a bad flag, an unreachable cluster, a port in use).
 */
export function runServer(main: (argv: readonly string[]) => Promise<number>): void {
  // Its last log lines, which say why it stopped, reach the log before it exits.
  const exit = (code: number) => void flushLogs().then(() => process.exit(code));
  main(process.argv.slice(2)).then(exit, (e: unknown) => {
    if (e instanceof HelpRequested) {
      process.stdout.write(e.text);
      exit(0);
      return;
    }
    process.stderr.write(
      `error: ${isTypedError(e) || e instanceof Error ? e.message : String(e)}\n`,
    );
    exit(2);
  });
}
