import { join } from "node:path";
import { createTwoFilesPatch } from "diff";
import { clientIntentsFromDocuments, type ClientIntents } from "../client-intents.js";
import {
  diffEgress,
  hasFailingFindings,
  type DiffInput,
  type FailOn,
  type WorkloadRef,
} from "../diff.js";
import { planFix, type FileChange } from "../fix/plan.js";
import { parseYamlDocuments } from "../yaml-documents.js";

/**
 * `diff --fix` and `diff --fix --dry-run`, decided: the new texts (to write) or the unified
 * diff (to print), and the exit code. The entry point writes the files, all or none.
 */

export interface FixContext {
  /** The text of every intents file read. */
  readonly texts: ReadonlyMap<string, string>;
  /** The folder a new ClientIntents file goes to (where the intents are). */
  readonly newFileDir: string;
  /** Files that already exist there (a new file never overwrites one). */
  readonly existing: ReadonlySet<string>;
  readonly defaultNamespace: string;
}

export interface FixOutcome {
  readonly stdout: string;
  readonly stderr: readonly string[];
  readonly writes: readonly FileChange[];
  readonly exitCode: 0 | 1;
}

function fileNamer(ctx: FixContext): (w: WorkloadRef) => string {
  const taken = new Set([...ctx.existing, ...ctx.texts.keys()]);
  return (w) => {
    const candidates = [`${w.name}.yaml`, `${w.namespace}-${w.name}.yaml`];
    for (let n = 2; ; n++) {
      const name = candidates.shift() ?? `${w.namespace}-${w.name}-${n}.yaml`;
      const path = join(ctx.newFileDir, name);
      if (!taken.has(path)) {
        taken.add(path);
        return path;
      }
    }
  };
}

/** A file name with spaces ends with a tab in the headers, so patch reads all of it. */
function withTabs(patch: string, path: string): string {
  if (!/\s/.test(path)) return patch;
  return patch.replace(/^(---|\+\+\+) (.*)$/gm, (line, _sign, name: string) =>
    name === "/dev/null" || name.endsWith(path) ? `${line}\t` : line,
  );
}

/**
 * The patch of every change, as `diff -u` / `git diff` print it (new files from /dev/null), for
 * `patch -p1` or `git apply` in the folder the command ran in: paths are as --intents gave them.
 */
export function unifiedDiff(changes: readonly FileChange[]): string {
  return changes
    .map((c) =>
      withTabs(
        createTwoFilesPatch(
          c.before === undefined ? "/dev/null" : `a/${c.path}`,
          `b/${c.path}`,
          c.before ?? "",
          c.after,
          undefined,
          undefined,
          { context: 3 },
        ).replace(/^=+\n/, ""),
        c.path,
      ),
    )
    .join("");
}

/** The intents after the fix, judged again: what is left is what --fix could not write. */
function intentsAfter(ctx: FixContext, changes: readonly FileChange[]): ClientIntents[] {
  const texts = new Map(ctx.texts);
  for (const c of changes) texts.set(c.path, c.after);
  const out: ClientIntents[] = [];
  for (const [path, text] of texts) {
    out.push(...clientIntentsFromDocuments(parseYamlDocuments(text, path), ctx.defaultNamespace));
  }
  return out;
}

function describe(c: FileChange): string {
  const parts = [
    ...(c.added.length > 0 ? [`added ${c.added.join(", ")}`] : []),
    ...(c.removed.length > 0 ? [`removed ${c.removed.join(", ")}`] : []),
  ];
  return `${c.before === undefined ? "created" : "fixed"} ${c.path}: ${parts.join("; ")}`;
}

export function runFix(
  input: DiffInput,
  ctx: FixContext,
  opts: { dryRun: boolean; failOn: FailOn },
): FixOutcome {
  const plan = planFix({ diff: diffEgress(input), texts: ctx.texts, newFile: fileNamer(ctx) });
  const stderr = plan.skipped.map((s) => `warning: ${s}`);
  if (opts.dryRun) {
    return {
      stdout: unifiedDiff(plan.changes),
      stderr,
      writes: [],
      exitCode: plan.changes.length > 0 ? 1 : 0,
    };
  }
  const after = diffEgress({ ...input, intents: intentsAfter(ctx, plan.changes) });
  const lines = plan.changes.map(describe);
  if (lines.length === 0) lines.push("nothing to fix");
  return {
    stdout: lines.join("\n") + "\n",
    stderr,
    writes: plan.changes,
    exitCode: hasFailingFindings(after, opts.failOn) ? 1 : 0,
  };
}
