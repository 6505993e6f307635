/**
 * Typed errors. The engine never calls process.exit: it returns or throws these,
 * and only the entry point maps them to exit codes (2 for both kinds).
 */

/** Where a piece of input came from: a file (and line), stdin, or a cluster object. */
export interface Source {
  readonly file: string;
  readonly line?: number;
}

/** A Source as plain data (sources may compute their line lazily). */
export function plainSource(source: Source): Source {
  return source.line === undefined
    ? { file: source.file }
    : { file: source.file, line: source.line };
}

export function formatSource(source: Source): string {
  return source.line === undefined ? source.file : `${source.file}:${source.line}`;
}

/** Bad input data: unparseable YAML, an invalid ClientIntents, a malformed snapshot. */
export class InputError extends Error {
  override readonly name = "InputError";
  /** What is wrong, on one line even when it quotes input that holds line breaks. */
  readonly detail: string;
  constructor(
    detail: string,
    readonly source?: Source,
  ) {
    const oneLine = detail.replace(/\r/g, "\\r").replace(/\n/g, "\\n");
    super(source ? `${formatSource(source)}: ${oneLine}` : oneLine);
    this.detail = oneLine;
  }
}

/** A command line that cannot be run: unknown flag, bad duration, missing argument. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  constructor(
    message: string,
    /** The command whose usage text should be suggested, e.g. "egress diff". */
    readonly command?: string,
  ) {
    super(message);
  }
}

/** The cluster refused or could not answer: forbidden, unreachable, timed out. */
export class ClusterError extends Error {
  override readonly name = "ClusterError";
}

/**
 * Whether an error is one of ours. By name, not instanceof: the single binary evaluates the
 * command's half as a module of its own, whose classes are copies.
 */
export function isTypedError(e: unknown): e is InputError | UsageError | ClusterError {
  return e instanceof Error && ["InputError", "UsageError", "ClusterError"].includes(e.name);
}
