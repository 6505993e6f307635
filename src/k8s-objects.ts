import { asObject, type Obj } from "./shape.js";
import { objectDocument, type PathSegment, type YamlDocument } from "./yaml-documents.js";

/** "namespace/name" of an object from the API server ("" for what it lacks). */
export function objectKey(o: unknown): string {
  const m = asObject(asObject(o)?.metadata) ?? {};
  const text = (v: unknown): string => (typeof v === "string" ? v : "");
  return `${text(m.namespace)}/${text(m.name)}`;
}

export interface FoundObject {
  readonly doc: YamlDocument;
  readonly value: Obj;
  /** Path of the object inside its document: [] or ["items", n]. */
  readonly base: readonly PathSegment[];
  /** 1-based line where the object starts. */
  readonly line: number | undefined;
}

/** A List (`kind: …List`, as `kubectl get` prints several objects): its items are looked in. */
export function isList(v: Obj): boolean {
  return typeof v.kind === "string" && v.kind.endsWith("List");
}

/**
 * The Kubernetes objects in a set of YAML documents that satisfy `wanted`: top-level
 * objects, and the items of any List (as `kubectl get … -o yaml` prints them).
 */
export function findObjects(
  docs: readonly YamlDocument[],
  wanted: (value: Obj) => boolean,
): FoundObject[] {
  const out: FoundObject[] = [];
  const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);
  for (const doc of docs) {
    const v = doc.value;
    if (!isObj(v)) continue;
    if (wanted(v)) {
      out.push({ doc, value: v, base: [], line: doc.line });
    } else if (isList(v) && Array.isArray(v.items)) {
      let lines: Array<number | undefined> | undefined;
      v.items.forEach((item, i) => {
        if (!isObj(item) || !wanted(item)) return;
        lines ??= doc.itemLines(["items"]);
        out.push({ doc, value: item, base: ["items", i], line: lines[i] ?? doc.line });
      });
    }
  }
  return out;
}

/** What a file held besides the objects looked for: for an error that says what was there. */
export interface Others {
  /** "Deployment apps/v1", once each, in the order met. */
  readonly kinds: string[];
  /** A List with no items: the file says, explicitly, that there are none. */
  readonly emptyList: boolean;
}

export function otherObjects(
  docs: readonly YamlDocument[],
  wanted: (value: Obj) => boolean,
): Others {
  const kinds = new Set<string>();
  let emptyList = false;
  const note = (v: unknown) => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return;
    const o = v as Obj;
    if (wanted(o)) return;
    if (isList(o) && Array.isArray(o.items)) {
      if (o.items.length === 0) emptyList = true;
      o.items.forEach(note);
      return;
    }
    kinds.add(`${String(o.kind ?? "an object without kind")} ${String(o.apiVersion ?? "")}`.trim());
  };
  for (const doc of docs) note(doc.value);
  return { kinds: [...kinds], emptyList };
}

/** "(found Deployment apps/v1, Service v1)" or "(the file is empty)". */
export function foundInstead(others: Others): string {
  if (others.kinds.length === 0) return "(it holds no Kubernetes objects)";
  const shown = others.kinds.slice(0, 3).join(", ");
  return `(found ${shown}${others.kinds.length > 3 ? `, and ${others.kinds.length - 3} more kinds` : ""})`;
}

/** A predicate for objects of one kind in one API group (any version). */
export function ofKind(group: string, kind: string): (value: Obj) => boolean {
  return (v) =>
    v.kind === kind && typeof v.apiVersion === "string" && v.apiVersion.startsWith(`${group}/`);
}

/**
 * An object from the API server as a document whose "file" names it ("ClientIntents
 * dev/joke-worker"): it has no lines, so errors and findings point at the object.
 */
export function apiObjectDocument(value: Obj): YamlDocument {
  const m = (value.metadata ?? {}) as { name?: unknown; namespace?: unknown };
  return objectDocument(
    value,
    `${String(value.kind ?? "object")} ${String(m.namespace ?? "")}/${String(m.name ?? "")}`,
  );
}
