import { InputError } from "./errors.js";
import type { PathSegment, YamlDocument } from "./yaml-documents.js";

/**
 * Reading plain YAML values with errors that name the field's path and line.
 */

export type Obj = Record<string, unknown>;

/** The value as an object (not an array, not null), or undefined. */
export function asObject(v: unknown): Obj | undefined {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : undefined;
}

export function pathText(path: readonly PathSegment[]): string {
  let out = "";
  for (const seg of path) {
    out += typeof seg === "number" ? `[${seg}]` : out === "" ? seg : `.${seg}`;
  }
  return out;
}

export class Reader {
  constructor(
    readonly doc: YamlDocument,
    /** Prefix of every path read here (e.g. ["items", 3] inside a List). */
    readonly base: readonly PathSegment[] = [],
  ) {}

  fail(path: readonly PathSegment[], detail: string): never {
    const full = [...this.base, ...path];
    const where = full.length > 0 ? `${pathText(full)}: ` : "";
    throw new InputError(`${where}${detail}`, {
      file: this.doc.file,
      line: this.doc.lineOf(full),
    });
  }

  line(path: readonly PathSegment[]): number | undefined {
    return this.doc.lineOf([...this.base, ...path]);
  }

  object(value: unknown, path: readonly PathSegment[]): Obj {
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      this.fail(path, `expected an object, got ${describe(value)}`);
    }
    return value as Obj;
  }

  optionalObject(value: unknown, path: readonly PathSegment[]): Obj | undefined {
    return value === undefined || value === null ? undefined : this.object(value, path);
  }

  string(value: unknown, path: readonly PathSegment[]): string {
    if (typeof value !== "string") this.fail(path, `expected a string, got ${describe(value)}`);
    return value;
  }

  optionalString(value: unknown, path: readonly PathSegment[]): string | undefined {
    return value === undefined || value === null ? undefined : this.string(value, path);
  }

  array(value: unknown, path: readonly PathSegment[]): unknown[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) this.fail(path, `expected a list, got ${describe(value)}`);
    return value;
  }

  strings(value: unknown, path: readonly PathSegment[]): string[] {
    if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value as string[];
    return this.array(value, path).map((v, i) => this.string(v, [...path, i]));
  }

  ports(value: unknown, path: readonly PathSegment[]): number[] {
    if (Array.isArray(value) && value.every(isPort)) return value as number[];
    return this.array(value, path).map((v, i) => {
      if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > 65535) {
        this.fail([...path, i], `expected a port number from 1 to 65535, got ${describe(v)}`);
      }
      return v;
    });
  }

  /** Refuses fields that are not in `allowed` (kubectl's default --validate=strict does too). */
  onlyFields(obj: Obj, allowed: readonly string[], path: readonly PathSegment[]): void {
    for (const key of Object.keys(obj)) {
      if (!allowed.includes(key)) {
        this.fail([...path, key], `unknown field "${key}" (allowed: ${allowed.join(", ")})`);
      }
    }
  }
}

function isPort(v: unknown): boolean {
  return typeof v === "number" && Number.isInteger(v) && v >= 1 && v <= 65535;
}

export function describe(value: unknown): string {
  if (value === null || value === undefined) return "nothing";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "an object";
  if (typeof value === "string") return `"${value.length > 40 ? value.slice(0, 40) + "…" : value}"`;
  return `${typeof value} ${String(value)}`;
}
