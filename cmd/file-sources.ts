import {
  closeSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  realpathSync,
  statSync,
} from "node:fs";
import { isAscii } from "node:buffer";
import { StringDecoder } from "node:string_decoder";
import { join } from "node:path";
import { intentsOfPaths, type ClientIntents, type IntentsPath } from "../src/client-intents.js";
import { InputError } from "../src/errors.js";
import { observedOfSnapshot, type ObservedWorkload } from "../src/observed-egress.js";
import { observedOfSnapshotText, SnapshotReader } from "../src/observed-snapshot.js";
import type { IntentsSource, ObservedSource } from "../src/sources.js";
import { parseYamlDocuments, type YamlDocument } from "../src/yaml-documents.js";

/** Reading intents and snapshots from files, directories and stdin. */

const EXTENSIONS = [".yaml", ".yml", ".json"];

function systemMessage(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "no such file or directory";
  if (code === "EACCES") return "permission denied";
  if (code === "EISDIR") return "is a directory";
  if (code === "ELOOP") return "too many levels of symbolic links";
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

/**
 * What a file really is, for reading each file once. Node's own realpathSync, not the libc one
 * (realpathSync.native), which fails on a pipe (/dev/stdin, `<(git show …)`).
 */
function realPath(file: string): string {
  try {
    return realpathSync(file);
  } catch (e) {
    // A dangling or looping link in a directory.
    throw new InputError(systemMessage(e), { file });
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

  /** Each file read and parsed when its turn comes (see IntentsPath.files). */
  private *parsed(files: readonly string[]): Generator<{ name: string; docs: YamlDocument[] }> {
    for (const file of files) {
      const name = displayName(file);
      const text = readInput(file, this.stdin);
      this.texts.set(name, text);
      yield { name, docs: parseYamlDocuments(text, name) };
    }
  }

  async intents(defaultNamespace: string): Promise<ClientIntents[]> {
    // A file named twice (a directory and a file in it, a link and its target) is read once.
    const seen = new Set<string>();
    const paths: IntentsPath[] = [];
    for (const path of this.paths) {
      const named = expandPath(path);
      const fresh = named.filter((file) => {
        const real = file === "-" ? file : realPath(file);
        if (seen.has(real)) return false;
        seen.add(real);
        return true;
      });
      // A path whose every file another path named has nothing to add.
      if (named.length > 0 && fresh.length === 0) continue;
      paths.push({ path: displayName(path), files: this.parsed(fresh) });
    }
    const { intents, warnings } = intentsOfPaths(paths, defaultNamespace, this.required);
    this.warnings = warnings;
    return intents;
  }
}

function isRegularFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    // readInput names what is wrong.
    return false;
  }
}

/** How much of a snapshot is read at a time. */
const PIECE_BYTES = 64 << 10;

/** A file fed to a SnapshotReader; undefined when it must be read whole. */
function readInPieces(path: string, reader: SnapshotReader): ObservedWorkload[] | undefined {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    throw new InputError(systemMessage(e), { file: path });
  }
  try {
    const decoder = new StringDecoder("utf8");
    // ASCII (what kubectl writes, mostly) is its own text; from the first other byte on, the
    // decoder reads UTF-8 (it starts there at a character's start).
    let ascii = true;
    const bytes = Buffer.allocUnsafe(PIECE_BYTES);
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, bytes, 0, PIECE_BYTES, null);
      } catch (e) {
        throw new InputError(systemMessage(e), { file: path });
      }
      if (n === 0) break;
      const chunk = bytes.subarray(0, n);
      ascii &&= isAscii(chunk);
      if (!reader.push(ascii ? chunk.toString("latin1") : decoder.write(chunk))) return undefined;
    }
    const rest = decoder.end();
    if (rest !== "" && !reader.push(rest)) return undefined;
    return reader.end();
  } finally {
    closeSync(fd);
  }
}

export class ObservedSnapshot implements ObservedSource {
  readonly offline = true;
  constructor(
    private readonly path: string,
    private readonly stdin: () => string,
  ) {}

  async observed(): Promise<ObservedWorkload[]> {
    const name = displayName(this.path);
    // A pipe (stdin, `<(kubectl get …)`) can be read only once: its text is read whole, then split.
    if (this.path === "-" || !isRegularFile(this.path)) {
      return observedOfSnapshotText(readInput(this.path, this.stdin), name);
    }
    // A file is read a piece at a time: what is held is its ObservedEgress, not its text.
    const found = readInPieces(this.path, new SnapshotReader(name));
    return found ?? observedOfSnapshot(readInput(this.path, this.stdin), name);
  }

  async listening() {
    return { state: "snapshot" } as const;
  }
}
