import { declaredDomain } from "./domain.js";
import { formatSource, InputError, type Source } from "./errors.js";
import { parseNetwork } from "./ip.js";
import { sharedPorts } from "./ports.js";
import {
  apiObjectDocument,
  findObjects,
  foundInstead,
  ofKind,
  otherObjects,
} from "./k8s-objects.js";
import { Reader, type Obj } from "./shape.js";
import {
  declaredDomainKey,
  type CloudForm,
  type DeclaredItem,
  type InClusterForm,
} from "./targets.js";
import type { PathSegment, YamlDocument } from "./yaml-documents.js";

/**
 * ClientIntents of every served version, read from YAML documents and validated as
 * Otterize's own admission webhook validates them (see docs/adr/0002).
 */

export const INTENTS_GROUP = "k8s.otterize.com";
export const INTENTS_VERSIONS = ["v1alpha2", "v1alpha3", "v1beta1", "v2alpha1", "v2beta1"] as const;
export type IntentsVersion = (typeof INTENTS_VERSIONS)[number];
/** The newest version (the one the collector watches: the API server converts the rest). */
export const INTENTS_NEWEST: IntentsVersion = "v2beta1";
/** The resource, as the API names it. */
export const INTENTS_PLURAL = "clientintents";

export interface ClientIntents {
  readonly apiVersion: string;
  readonly name: string;
  readonly namespace: string;
  readonly workload: { readonly name: string; readonly kind?: string };
  readonly items: readonly DeclaredItem[];
  readonly source: Source;
}

const V1_CALL_TYPES: Record<string, readonly string[]> = {
  v1alpha2: ["", "http", "kafka", "database"],
  v1alpha3: ["", "http", "kafka", "database", "aws", "gcp", "azure", "internet"],
  v1beta1: ["", "http", "kafka", "database", "aws", "gcp", "azure", "internet"],
};

const INTERNET_FIELDS = ["domains", "ips", "ports"];

// Shared, and not frozen: loops over them stay on one fast path (frozen is another elements kind).
const NO_STRINGS: readonly string[] = [];
const NO_PORTS: readonly number[] = [];

/** A list of strings that needs no further checking, or undefined (then the Reader explains). */
function plainStrings(v: unknown): readonly string[] | undefined {
  if (v === undefined || v === null) return NO_STRINGS;
  if (!Array.isArray(v)) return undefined;
  for (const x of v) if (typeof x !== "string") return undefined;
  return v as string[];
}

export const V2_TARGET_FIELDS = [
  "kubernetes",
  "service",
  "kafka",
  "sql",
  "aws",
  "gcp",
  "azure",
  "internet",
] as const;

export class IntentsReader extends Reader {
  /** Lines of list items, found in one pass per list. */
  private readonly itemLines = new Map<string, Array<number | undefined>>();
  /** One Source for every item of an object without lines (kept by caches: one, not many). */
  private fileOnly: Source | undefined;

  /**
   * Where a list item (a target, a call) is written. Lines of a list's items are found in one
   * pass and kept as numbers, so nothing read here keeps its document's parse alive.
   */
  source(path: readonly PathSegment[]): Source {
    const index = path[path.length - 1];
    if (typeof index !== "number") return this.fileSource();
    return this.itemSource(path.slice(0, -1), index);
  }

  /** The Source of every item of an object without lines (kept by caches: one, not many). */
  fileSource(): Source {
    return (this.fileOnly ??= { file: this.doc.file });
  }

  /** Where item `index` of the list at `list` is written. */
  itemSource(list: readonly PathSegment[], index: number): Source {
    // Objects from the API server have no lines.
    if (this.doc.line === undefined) return this.fileSource();
    const key = list.join("\u0000");
    let lines = this.itemLines.get(key);
    if (!lines) this.itemLines.set(key, (lines = this.doc.itemLines([...this.base, ...list])));
    const line = lines[index];
    return line === undefined ? { file: this.doc.file } : { file: this.doc.file, line };
  }

  kind(value: unknown, path: readonly PathSegment[]): string | undefined {
    const kind = this.optionalString(value, path);
    if (kind === undefined || kind === "") return undefined;
    if (!/^[A-Z]/.test(kind))
      this.fail(path, "Kubernetes Kinds must start with an uppercase letter");
    return kind;
  }

  /** "x" → (x, own namespace); "x.ns" → (x, ns); more than one dot is invalid. */
  targetName(raw: string, namespace: string, path: readonly PathSegment[]) {
    const parts = raw.split(".");
    if (raw === "" || parts.some((p) => p === "")) {
      this.fail(path, raw === "" ? "field name is required" : `invalid target name "${raw}"`);
    }
    if (parts.length > 2) {
      this.fail(path, `target name "${raw}" should not contain more than one '.' character`);
    }
    return { name: parts[0] as string, namespace: parts[1] ?? namespace };
  }

  /** Adds the items of an internet target to `into`. */
  internet(
    value: unknown,
    path: readonly PathSegment[],
    itemPath: readonly PathSegment[],
    into: DeclaredItem[],
  ): void {
    const obj = this.object(value, path);
    this.onlyFields(obj, INTERNET_FIELDS, path);
    const domains = plainStrings(obj.domains) ?? this.strings(obj.domains, [...path, "domains"]);
    const ips = plainStrings(obj.ips) ?? this.strings(obj.ips, [...path, "ips"]);
    const ports = sharedPorts(this.ports(obj.ports, [...path, "ports"]));
    if (domains.length === 0 && ips.length === 0) {
      this.fail(path, "an internet target must contain ips or domains");
    }
    const source = this.source(itemPath);
    for (let i = 0; i < domains.length; i++) {
      const domain = domains[i] as string;
      const d = declaredDomain(domain);
      if (d.problem !== undefined) this.fail([...path, "domains", i], d.problem);
      into.push({ kind: "domain", domain: d.domain, ports, source });
    }
    for (let i = 0; i < ips.length; i++) {
      const text = ips[i] as string;
      const network = parseNetwork(text);
      if (!network) this.fail([...path, "ips", i], `"${text}" is not a valid IP address or CIDR`);
      into.push({ kind: "ip", text, network, ports, source });
    }
  }
}

function inCluster(
  r: IntentsReader,
  form: InClusterForm,
  raw: string,
  namespace: string,
  targetKind: string | undefined,
  path: readonly PathSegment[],
  itemPath: readonly PathSegment[],
): DeclaredItem {
  const { name, namespace: ns } = r.targetName(raw, namespace, path);
  return {
    kind: "in-cluster",
    form,
    name,
    namespace: ns,
    ...(targetKind ? { targetKind } : {}),
    source: r.source(itemPath),
  };
}

function cloud(
  r: IntentsReader,
  form: CloudForm,
  name: string,
  itemPath: readonly PathSegment[],
): DeclaredItem {
  return { kind: "cloud", form, name, source: r.source(itemPath) };
}

const TARGETS_PATH = ["spec", "targets"];

const V2_FIELD_SET: ReadonlySet<string> = new Set(V2_TARGET_FIELDS);

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** A port list as Reader.ports would return it, or undefined when that would fail. */
function plainPorts(v: unknown): readonly number[] | undefined {
  if (v === undefined || v === null) return NO_PORTS;
  if (!Array.isArray(v)) return undefined;
  for (const p of v) {
    if (typeof p !== "number" || !Number.isInteger(p) || p < 1 || p > 65535) return undefined;
  }
  return v as number[];
}

/** targetName for a valid name, or undefined (then the Reader explains what is wrong). */
function plainTargetName(raw: string, namespace: string) {
  const dot = raw.indexOf(".");
  if (dot < 0) return raw === "" ? undefined : { name: raw, namespace };
  if (dot === 0 || dot === raw.length - 1 || raw.indexOf(".", dot + 1) >= 0) return undefined;
  return { name: raw.slice(0, dot), namespace: raw.slice(dot + 1) };
}

/** The one field a target sets, when all its fields are v2's; undefined otherwise. */
function onlyField(value: Obj): string | undefined {
  let field: string | undefined;
  let count = 0;
  for (const key in value) {
    if (!V2_FIELD_SET.has(key)) return undefined;
    if (value[key] !== undefined && value[key] !== null) {
      field = key;
      count++;
    }
  }
  return count === 1 ? field : undefined;
}

/** An internet target's lists, when they need no further checking; undefined otherwise. */
function plainInternet(body: Obj) {
  for (const key in body) if (!INTERNET_FIELDS.includes(key)) return undefined;
  const domains = plainStrings(body.domains);
  const ips = plainStrings(body.ips);
  const ports = plainPorts(body.ports);
  if (!domains || !ips || !ports || domains.length + ips.length === 0) return undefined;
  return { domains, ips, ports };
}

function fastInternet(body: Obj, source: Source, into: DeclaredItem[]): boolean {
  const plain = plainInternet(body);
  if (!plain) return false;
  const ports = sharedPorts(plain.ports);
  const before = into.length;
  for (const domain of plain.domains) {
    const d = declaredDomain(domain);
    if (d.problem !== undefined) {
      into.length = before;
      return false;
    }
    into.push({ kind: "domain", domain: d.domain, ports, source });
  }
  for (const text of plain.ips) {
    const network = parseNetwork(text);
    if (!network) {
      into.length = before;
      return false;
    }
    into.push({ kind: "ip", text, network, ports, source });
  }
  return true;
}

/**
 * The keys (itemKey) of what fastV2Target would add for an internet target of domains only,
 * without the items; false for any other target (then read its items).
 */
export function fastDomainKeys(value: unknown, into: string[]): boolean {
  if (!isObj(value) || onlyField(value) !== "internet" || !isObj(value.internet)) return false;
  const plain = plainInternet(value.internet);
  if (!plain || plain.ips.length !== 0) return false;
  const before = into.length;
  for (const domain of plain.domains) {
    const key = declaredDomainKey(domain);
    if (key === undefined) {
      into.length = before;
      return false;
    }
    into.push(key);
  }
  return true;
}

/**
 * v2Target's fast path: a well-formed target is read without building paths for errors that
 * will not happen (the webhook reads one per target of every review). It adds exactly what
 * v2Target would, or adds nothing and returns false; then v2Target reads it and says what is
 * wrong.
 */
export function fastV2Target(
  value: unknown,
  namespace: string,
  source: Source,
  into: DeclaredItem[],
): boolean {
  if (!isObj(value)) return false;
  const field = onlyField(value);
  if (field === undefined) return false;
  const body = value[field];
  if (!isObj(body)) return false;
  if (field === "internet") return fastInternet(body, source, into);
  const nameKey =
    field === "aws" ? "arn" : field === "gcp" ? "resource" : field === "azure" ? "scope" : "name";
  const raw = body[nameKey];
  if (typeof raw !== "string" || raw === "") return false;
  switch (field) {
    case "kubernetes": {
      const kind = body.kind;
      if (
        kind !== undefined &&
        kind !== null &&
        (typeof kind !== "string" || !/^[A-Z]|^$/.test(kind))
      )
        return false;
      const t = plainTargetName(raw, namespace);
      if (!t) return false;
      into.push({
        kind: "in-cluster",
        form: "kubernetes",
        name: t.name,
        namespace: t.namespace,
        ...(kind ? { targetKind: kind } : {}),
        source,
      });
      return true;
    }
    case "service":
    case "kafka": {
      const t = plainTargetName(raw, namespace);
      if (!t) return false;
      into.push({ kind: "in-cluster", form: field, name: t.name, namespace: t.namespace, source });
      return true;
    }
    case "sql":
    case "aws":
    case "gcp":
    case "azure":
      into.push({ kind: "cloud", form: field, name: raw, source });
      return true;
  }
  return false;
}

/** Reads one v2 target and adds its items to `into`. */
export function v2Target(
  r: IntentsReader,
  value: unknown,
  path: readonly PathSegment[],
  namespace: string,
  into: DeclaredItem[],
): void {
  const target = r.object(value, path);
  r.onlyFields(target, V2_TARGET_FIELDS, path);
  let field: (typeof V2_TARGET_FIELDS)[number] | undefined;
  let count = 0;
  for (const f of V2_TARGET_FIELDS) {
    if (target[f] !== undefined && target[f] !== null) {
      field ??= f;
      count++;
    }
  }
  if (field === undefined || count !== 1) {
    const set = V2_TARGET_FIELDS.filter((f) => target[f] !== undefined && target[f] !== null);
    r.fail(
      path,
      `each target must have exactly one field set (one of ${V2_TARGET_FIELDS.join(", ")}; found ${set.length === 0 ? "none" : set.join(", ")})`,
    );
  }
  const fieldPath = [...path, field];
  if (field === "internet") return r.internet(target.internet, fieldPath, path, into);
  const body: Obj = r.object(target[field], fieldPath);
  const required = (key: string) => {
    const v = r.optionalString(body[key], [...fieldPath, key]);
    if (!v) r.fail([...fieldPath, key], `field ${key} is required`);
    return v;
  };
  switch (field) {
    case "kubernetes": {
      const kind = r.kind(body.kind, [...fieldPath, "kind"]);
      const name = required("name");
      into.push(inCluster(r, "kubernetes", name, namespace, kind, [...fieldPath, "name"], path));
      return;
    }
    case "service":
    case "kafka":
      into.push(
        inCluster(r, field, required("name"), namespace, undefined, [...fieldPath, "name"], path),
      );
      return;
    case "sql":
      into.push(cloud(r, "sql", required("name"), path));
      return;
    case "aws":
      into.push(cloud(r, "aws", required("arn"), path));
      return;
    case "gcp":
      into.push(cloud(r, "gcp", required("resource"), path));
      return;
    case "azure":
      into.push(cloud(r, "azure", required("scope"), path));
      return;
  }
}

function v1Call(
  r: IntentsReader,
  version: string,
  value: unknown,
  index: number,
  namespace: string,
  into: DeclaredItem[],
): void {
  const path = ["spec", "calls", index];
  const call = r.object(value, path);
  const type = r.optionalString(call.type, [...path, "type"]) ?? "";
  const allowed = V1_CALL_TYPES[version] as readonly string[];
  if (!allowed.includes(type)) {
    r.fail(
      [...path, "type"],
      `unsupported call type "${type}" in ${version} (allowed: ${allowed.filter((t) => t).join(", ")})`,
    );
  }
  const namePath = [...path, "name"];
  const rawName = r.optionalString(call.name, namePath) ?? "";
  if (type === "internet") {
    if (call.internet === undefined || call.internet === null) {
      r.fail(path, "type internet must contain an internet object");
    }
    return r.internet(call.internet, [...path, "internet"], path, into);
  }
  if (rawName === "") r.fail(namePath, "field name is required");
  // The operator refuses more than one dot in every v1 call name, cloud ones included.
  if (rawName.split(".").length > 2) {
    r.fail(namePath, `target name "${rawName}" should not contain more than one '.' character`);
  }
  switch (type) {
    case "database":
      into.push(cloud(r, "sql", rawName, path));
      return;
    case "aws":
    case "gcp":
    case "azure":
      into.push(cloud(r, type, rawName, path));
      return;
    case "kafka":
      into.push(inCluster(r, "kafka", rawName, namespace, undefined, namePath, path));
      return;
    default: {
      const callKind = version === "v1alpha2" ? undefined : r.kind(call.kind, [...path, "kind"]);
      const isService = rawName.startsWith("svc:") || callKind === "Service";
      const name = rawName.startsWith("svc:") ? rawName.slice(4) : rawName;
      into.push(
        isService
          ? inCluster(r, "kubernetes", name, namespace, "Service", namePath, path)
          : inCluster(r, "kubernetes", name, namespace, callKind, namePath, path),
      );
    }
  }
}

/**
 * Reads one ClientIntents object at `base` within `doc`. `defaultNamespace` is used when
 * the object has no metadata.namespace (as `kubectl apply -n` would).
 */
export function readClientIntents(
  doc: YamlDocument,
  value: unknown,
  base: readonly PathSegment[],
  defaultNamespace: string,
  line: number | undefined,
): ClientIntents {
  const r = new IntentsReader(doc, base);
  const obj = r.object(value, []);
  const apiVersion = r.string(obj.apiVersion, ["apiVersion"]);
  const version = apiVersion.slice(INTENTS_GROUP.length + 1);
  if (!(INTENTS_VERSIONS as readonly string[]).includes(version)) {
    r.fail(
      ["apiVersion"],
      `unknown ClientIntents version "${apiVersion}" (served: ${INTENTS_VERSIONS.join(", ")})`,
    );
  }
  const metadata = r.object(obj.metadata, ["metadata"]);
  const name = r.string(metadata.name, ["metadata", "name"]);
  const namespace =
    r.optionalString(metadata.namespace, ["metadata", "namespace"]) || defaultNamespace;
  const spec = r.object(obj.spec, ["spec"]);
  const isV2 = version.startsWith("v2");
  const workloadField = isV2 ? "workload" : "service";
  const w = r.object(spec[workloadField], ["spec", workloadField]);
  const workloadName = r.string(w.name, ["spec", workloadField, "name"]);
  if (workloadName === "") r.fail(["spec", workloadField, "name"], "field name is required");
  if (workloadName.includes(".")) {
    r.fail(["spec", workloadField, "name"], "workload name should not contain '.' character");
  }
  const workloadKind =
    version === "v1alpha2" ? undefined : r.kind(w.kind, ["spec", workloadField, "kind"]);

  const listField = isV2 ? "targets" : "calls";
  if (spec[listField] === undefined || spec[listField] === null) {
    r.fail(["spec"], `field ${listField} is required`);
  }
  const list = r.array(spec[listField], ["spec", listField]);
  const items: DeclaredItem[] = [];
  for (let i = 0; i < list.length; i++) {
    if (!isV2) v1Call(r, version, list[i], i, namespace, items);
    else if (!fastV2Target(list[i], namespace, r.itemSource(TARGETS_PATH, i), items)) {
      v2Target(r, list[i], ["spec", "targets", i], namespace, items);
    }
  }
  return {
    apiVersion,
    name,
    namespace,
    workload: workloadKind ? { name: workloadName, kind: workloadKind } : { name: workloadName },
    items,
    source: { file: doc.file, line },
  };
}

/** One ClientIntents object from the API server (errors name the object). */
export function clientIntentsFromObject(value: Obj, defaultNamespace: string): ClientIntents {
  return readClientIntents(apiObjectDocument(value), value, [], defaultNamespace, undefined);
}

/**
 * Every ClientIntents in the documents: plain objects and the items of a List
 * (as `kubectl get clientintents -o yaml` prints). Other kinds are skipped.
 */
export function clientIntentsFromDocuments(
  docs: readonly YamlDocument[],
  defaultNamespace: string,
): ClientIntents[] {
  return findObjects(docs, ofKind(INTENTS_GROUP, "ClientIntents")).map((o) =>
    readClientIntents(o.doc, o.value, o.base, defaultNamespace, o.line),
  );
}

/** The files one --intents argument named, parsed. */
export interface IntentsPath {
  /** The argument as given (a file, a directory, or - for stdin). */
  readonly path: string;
  /**
   * Read once, in order. A file's documents (with the parser events kept for their lines) are
   * needed only until its ClientIntents are read, so a reader can parse each file as it is
   * asked for: thousands of files' documents are then never held at once.
   */
  readonly files: Iterable<{ readonly name: string; readonly docs: readonly YamlDocument[] }>;
}

/**
 * The ClientIntents of every --intents path, with warnings for what was skipped. A path that
 * holds none is a warning that says what it holds instead; when no path holds any (an empty
 * directory, /dev/null, a mistyped group), it is an error, so that a wrong path cannot pass a
 * pull-request check. An explicit empty List says there are none, and is taken at its word.
 * Two ClientIntents of the same name and namespace are an error naming both: the cluster keeps
 * only one. `required: false` (the target branch's intents, which may have none yet) only warns.
 */
export function intentsOfPaths(
  paths: readonly IntentsPath[],
  defaultNamespace: string,
  required = true,
): { intents: ClientIntents[]; warnings: string[] } {
  const wanted = ofKind(INTENTS_GROUP, "ClientIntents");
  const intents: ClientIntents[] = [];
  const warnings: string[] = [];
  const empty: Array<[path: string, why: string]> = [];
  let saidNone = false;
  for (const p of paths) {
    const before = intents.length;
    let files = 0;
    const kinds = new Set<string>();
    let emptyList = false;
    for (const f of p.files) {
      files++;
      for (const ci of clientIntentsFromDocuments(f.docs, defaultNamespace)) intents.push(ci);
      const inFile = otherObjects(f.docs, wanted);
      for (const kind of inFile.kinds) kinds.add(kind);
      emptyList ||= inFile.emptyList;
    }
    const others = { kinds: [...kinds], emptyList };
    for (const kind of others.kinds.filter((k) => k.startsWith("ClientIntents "))) {
      warnings.push(`${p.path}: skipped ${kind}: ClientIntents are ${INTENTS_GROUP} objects`);
    }
    if (intents.length > before) continue;
    if (others.emptyList && others.kinds.length === 0) {
      saidNone = true;
      continue;
    }
    const why = files === 0 ? "(it holds no .yaml, .yml or .json files)" : foundInstead(others);
    empty.push([p.path, why]);
  }
  if (required && intents.length === 0 && !saidNone && empty.length > 0) {
    throw new InputError(
      `no ClientIntents in ${empty.map(([p, why]) => `${p} ${why}`).join("; ")}`,
    );
  }
  for (const [p, why] of empty) warnings.push(`${p}: no ClientIntents ${why}; skipped`);
  const byName = new Map<string, ClientIntents>();
  for (const ci of intents) {
    const key = `${ci.namespace}/${ci.name}`;
    const first = byName.get(key);
    if (first) {
      throw new InputError(
        `ClientIntents ${key} is also defined at ${formatSource(first.source)}: the cluster keeps only one of them`,
        ci.source,
      );
    }
    byName.set(key, ci);
  }
  return { intents, warnings };
}
