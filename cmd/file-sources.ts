import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { clientIntentsFromDocuments, type ClientIntents } from "../src/client-intents.js";
import { InputError } from "../src/errors.js";
import { observedFromDocuments, type ObservedWorkload } from "../src/observed-egress.js";
import type { IntentsSource, ObservedSource } from "../src/sources.js";
import { parseYamlDocuments } from "../src/yaml-documents.js";

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
  ) {}

  async intents(defaultNamespace: string): Promise<ClientIntents[]> {
    const out: ClientIntents[] = [];
    for (const file of this.paths.flatMap(expandPath)) {
      const text = readInput(file, this.stdin);
      this.texts.set(displayName(file), text);
      const docs = parseYamlDocuments(text, displayName(file));
      out.push(...clientIntentsFromDocuments(docs, defaultNamespace));
    }
    return out;
  }
}

export class ObservedSnapshot implements ObservedSource {
  readonly offline = true;
  constructor(
    private readonly path: string,
    private readonly stdin: () => string,
  ) {}

  async observed(): Promise<ObservedWorkload[]> {
    const docs = parseYamlDocuments(readInput(this.path, this.stdin), displayName(this.path));
    return observedFromDocuments(docs);
  }

  async listening() {
    return { state: "snapshot" } as const;
  }
}
