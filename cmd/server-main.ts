import { HelpRequested } from "../src/cli/command-line.js";
import { isTypedError } from "../src/errors.js";

/**
 * Runs a server's main and maps its end to an exit code: its own code, 0 after --help, or 2
 * with one line on stderr for an error (a bad flag, an unreachable cluster, a port in use).
 */
export function runServer(main: (argv: readonly string[]) => Promise<number>): void {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      if (e instanceof HelpRequested) {
        process.stdout.write(e.text);
        process.exit(0);
      }
      process.stderr.write(
        `error: ${isTypedError(e) || e instanceof Error ? e.message : String(e)}\n`,
      );
      process.exit(2);
    },
  );
}
