import { readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { join } from "node:path";
import { intentsOfPaths, type ClientIntents, type IntentsPath } from "../src/client-intents.js";
import { InputError } from "../src/errors.js";
import { observedOfSnapshot, type ObservedWorkload } from "../src/observed-egress.js";
import type { IntentsSource, ObservedSource } from "../src/sources.js";
import { parseSnapshotDocuments, parseYamlDocuments } from "../src/yaml-documents.js";

/** Reading intents and snapshots from files, directories and stdin. */

const EXTENSIONS = [".yaml", ".yml", ".json"];

function systemMessage(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "no such file or directory";
  if (code === "EACCES") return "permission denied";
  if (code === "EISDIR") return "is a directory";
  return e instanceof Error ? e.message : String(e);
}

/** Every file a path names: itself, or the YAML/JSON files below a directory (sorted). */
export function expandPath(path: string): string[] {
  if (path === "-") return ["-"];
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (e) {
    throw new InputError(systemMessage(e), { file: path });
  }
  if (!isDir) return [path];
  const out: string[] = [];
  const walk = (dir: string) => {
    const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
    for (const entry of entries) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (EXTENSIONS.some((ext) => entry.name.endsWith(ext))) out.push(full);
    }
  };
  walk(path);
  return out;
}

export function readInput(path: string, stdin: () => string): string {
  if (path === "-") return stdin();
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new InputError(systemMessage(e), { file: path });
  }
}

function displayName(path: string): string {
  return path === "-" ? "<stdin>" : path;
}

export class IntentsFiles implements IntentsSource {
  readonly fromFiles = true;
  /** The text of every file read, by the name its findings carry (what --fix edits). */
  readonly texts = new Map<string, string>();
  constructor(
    private readonly paths: readonly string[],
    private readonly stdin: () => string,
    /** Whether holding no ClientIntents at all is an error (else a warning). */
    private readonly required = true,
  ) {}

  /** What was skipped, for stderr. */
  warnings: string[] = [];

  async intents(defaultNamespace: string): Promise<ClientIntents[]> {
    // A file named twice (a directory and a file in it, a link and its target) is read once.
    const seen = new Set<string>();
    const paths: IntentsPath[] = [];
    for (const path of this.paths) {
      const named = expandPath(path);
      const fresh = named.filter((file) => {
        const real = file === "-" ? file : realpathSync(file);
        if (seen.has(real)) return false;
        seen.add(real);
        return true;
      });
      // A path whose every file another path named has nothing to add.
      if (named.length > 0 && fresh.length === 0) continue;
      const files = fresh.map((file) => {
        const text = readInput(file, this.stdin);
        this.texts.set(displayName(file), text);
        return { name: displayName(file), docs: parseYamlDocuments(text, displayName(file)) };
      });
      paths.push({ path: displayName(path), files });
    }
    const { intents, warnings } = intentsOfPaths(paths, defaultNamespace, this.required);
    this.warnings = warnings;
    return intents;
  }
}

export class ObservedSnapshot implements ObservedSource {
  readonly offline = true;
  constructor(
    private readonly path: string,
    private readonly stdin: () => string,
  ) {}

  async observed(): Promise<ObservedWorkload[]> {
    const text = readInput(this.path, this.stdin);
    const docs = parseSnapshotDocuments(text, displayName(this.path));
    return observedOfSnapshot(docs, displayName(this.path));
  }

  async listening() {
    return { state: "snapshot" } as const;
  }
}
