import { clientIntentsFromDocuments, INTENTS_GROUP } from "../client-intents.js";
import type { EgressDiff, WorkloadDiff, WorkloadRef } from "../diff.js";
import { domainProblem, normalizeDomain } from "../domain.js";
import { InputError } from "../errors.js";
import { clientIntentsObject, InternetGroups, targetInVersion } from "../intents-writer.js";
import { renderYaml } from "../render/serialize.js";
import { targetWithPorts } from "../render/target-label.js";
import { itemLabel, type DeclaredItem, type TargetV2 } from "../targets.js";
import { lineAt, lineStarts, parseYamlDocuments } from "../yaml-documents.js";
import {
  appendItems,
  applyEdits,
  emptyValue,
  removeEntries,
  removeItems,
  replaceFlowItems,
  replaceTrailingFlowItems,
  type Edit,
} from "./text-edits.js";
import {
  entryOf,
  valueAt,
  yamlTree,
  type MapNode,
  type SeqNode,
  type YamlNode,
} from "./yaml-tree.js";

/**
 * `diff --fix`: from the findings to new texts of the intents files. Missing targets are
 * added to the workload's ClientIntents in that object's own version (v2 `targets`, v1
 * `calls`); unnecessary items are removed (a domain or IP from its list, a whole target when
 * nothing is left of it); a workload without ClientIntents gets a new file. Pure: the caller
 * reads the files and writes the result.
 */

export interface FileChange {
  readonly path: string;
  /** The text before the fix; undefined for a new file. */
  readonly before?: string;
  readonly after: string;
  readonly added: readonly string[];
  readonly removed: readonly string[];
}

export interface FixPlan {
  readonly changes: readonly FileChange[];
  /** Findings --fix cannot write, and why. */
  readonly skipped: readonly string[];
}

export interface FixInput {
  readonly diff: EgressDiff;
  /** The text of every intents file the diff read, by the path its sources name. */
  readonly texts: ReadonlyMap<string, string>;
  /** Where to write the ClientIntents of a workload that has none. */
  newFile(workload: WorkloadRef): string;
}

interface IntentsNode {
  readonly node: MapNode;
  readonly version: string;
  readonly list: SeqNode;
  readonly listKey: YamlNode;
}

function scalar(node: YamlNode | undefined): string | undefined {
  return node?.kind === "scalar" ? node.value : undefined;
}

/** The ClientIntents objects of a parsed file: whole documents, or items of a List. */
function intentsNodes(roots: ReadonlyArray<YamlNode | null>): IntentsNode[] {
  const out: IntentsNode[] = [];
  const visit = (node: YamlNode | null | undefined) => {
    if (node?.kind !== "map") return;
    const kind = scalar(valueAt(node, ["kind"]));
    if (kind?.endsWith("List")) {
      const items = valueAt(node, ["items"]);
      if (items?.kind === "seq") items.items.forEach(visit);
      return;
    }
    const apiVersion = scalar(valueAt(node, ["apiVersion"])) ?? "";
    if (kind !== "ClientIntents" || !apiVersion.startsWith(`${INTENTS_GROUP}/`)) return;
    const version = apiVersion.slice(INTENTS_GROUP.length + 1);
    const spec = valueAt(node, ["spec"]);
    const entry = entryOf(spec, version.startsWith("v2") ? "targets" : "calls");
    if (entry?.value.kind === "seq") {
      out.push({ node, version, list: entry.value, listKey: entry.key });
    }
  };
  roots.forEach(visit);
  return out;
}

/** The missing targets of a workload, as targets to write: internet ones merged by ports. */
function targetsToAdd(findings: readonly TargetV2[], skipped: string[], who: string): TargetV2[] {
  const internet = new InternetGroups();
  const named = new Map<string, TargetV2>();
  for (const t of findings) {
    if (!("internet" in t)) {
      named.set(JSON.stringify(t), t);
      continue;
    }
    const domains = (t.internet.domains ?? []).filter((d) => {
      const problem = domainProblem(d);
      if (problem) skipped.push(`${who}: cannot declare "${d}": ${problem}`);
      return problem === undefined;
    });
    internet.add(t.internet.ports ?? [], domains, t.internet.ips ?? []);
  }
  return [...named.values(), ...internet.targets()];
}

interface TargetRemoval {
  whole: boolean;
  domains: Set<string>;
  ips: Set<string>;
  labels: string[];
}

function seqValues(node: YamlNode | undefined): string[] {
  return node?.kind === "seq" ? node.items.map((i) => scalar(i) ?? "") : [];
}

/** Edits that remove parts of one target (a v2 target or a v1 call). */
function targetEdits(text: string, target: YamlNode, r: TargetRemoval): Edit[] | "whole" {
  if (r.whole) return "whole";
  const internet = valueAt(target, ["internet"]);
  if (internet?.kind !== "map") return "whole";
  const domains = entryOf(internet, "domains");
  const ips = entryOf(internet, "ips");
  const goneDomain = (v: string) => r.domains.has(normalizeDomain(v));
  const keptDomains = seqValues(domains?.value).filter((d) => !goneDomain(d));
  const keptIps = seqValues(ips?.value).filter((ip) => !r.ips.has(ip));
  if (keptDomains.length === 0 && keptIps.length === 0) return "whole";
  const edits: Edit[] = [];
  const emptied = new Set<number>();
  const trim = (entry: typeof domains, gone: (v: string) => boolean, kept: number) => {
    if (!entry || entry.value.kind !== "seq") return;
    const seq = entry.value;
    const remove = new Set(
      seq.items.map((_, i) => i).filter((i) => gone(scalar(seq.items[i]) ?? "")),
    );
    if (remove.size === 0) return;
    if (kept === 0) emptied.add(internet.entries.indexOf(entry));
    else edits.push(...removeItems(text, seq, remove));
  };
  trim(domains, goneDomain, keptDomains.length);
  trim(ips, (v) => r.ips.has(v), keptIps.length);
  if (emptied.size > 0) edits.push(...removeEntries(text, internet, emptied));
  return edits;
}

interface FilePlan {
  removals: Array<{ line: number; item: DeclaredItem }>;
  /** Ports to add to the declared target that covers their destination. */
  widenings: Array<{ line: number; item: DeclaredItem; port: number }>;
  additions: Array<{ line: number | undefined; workload: WorkloadDiff; targets: TargetV2[] }>;
}

/** The workload a ClientIntents node declares: spec.workload (v2) or spec.service (v1). */
function declaredWorkload(doc: IntentsNode): string | undefined {
  const spec = valueAt(doc.node, ["spec"]);
  return scalar(valueAt(spec, [doc.version.startsWith("v2") ? "workload" : "service", "name"]));
}

/** "x", "x.ns" or v1 "svc:x" as written: the name part. */
function bareName(raw: string | undefined): string | undefined {
  return raw?.replace(/^svc:/, "").split(".")[0];
}

/** Whether a target (v2 target or v1 call) is where a declared item is written. */
function targetHolds(target: YamlNode, item: DeclaredItem): boolean {
  const internet = valueAt(target, ["internet"]);
  switch (item.kind) {
    case "domain":
      return seqValues(valueAt(internet, ["domains"])).some(
        (d) => normalizeDomain(d) === item.domain,
      );
    case "ip":
      return seqValues(valueAt(internet, ["ips"])).includes(item.text);
    case "in-cluster":
      return [
        valueAt(target, [item.form, "name"]),
        valueAt(target, ["kubernetes", "name"]),
        valueAt(target, ["name"]),
      ].some((n) => bareName(scalar(n)) === item.name);
    case "cloud":
      return false;
  }
}

function hasAlias(node: YamlNode | null | undefined): boolean {
  if (!node) return false;
  if (node.kind === "alias") return true;
  if (node.kind === "seq") return node.items.some(hasAlias);
  if (node.kind === "map") return node.entries.some((e) => hasAlias(e.key) || hasAlias(e.value));
  return false;
}

function fixFile(
  path: string,
  original: string,
  plan: FilePlan,
  skipped: string[],
): FileChange | undefined {
  // Edits are planned on a text that ends with a line break, in the file's own line breaks.
  const newline = original.includes("\r\n") ? "\r\n" : "\n";
  const unterminated = original.length > 0 && !original.endsWith("\n");
  const text = unterminated ? original + newline : original;
  const roots = yamlTree(text);
  if (roots.some(hasAlias)) {
    throw new InputError(
      "--fix does not edit files that use YAML aliases (an edit could change what an alias means elsewhere); edit it by hand",
      { file: path },
    );
  }
  const docs = intentsNodes(roots);
  const starts = lineStarts(text);
  const lineOf = (n: YamlNode) => lineAt(starts, n.start);
  const edits: Edit[] = [];
  const added: string[] = [];
  const removed: string[] = [];

  // Removals, gathered per target, then per list. Several targets may share a line (flow
  // style, minified JSON): the one that holds the item is meant, and a named target that is
  // written twice is removed once per finding.
  const perTarget = new Map<YamlNode, { doc: IntentsNode; index: number; r: TargetRemoval }>();
  for (const { line, item } of plan.removals) {
    let found = false;
    for (const doc of docs) {
      const index = doc.list.items.findIndex(
        (t) =>
          lineOf(t) === line &&
          targetHolds(t, item) &&
          !(item.kind === "in-cluster" && perTarget.get(t)?.r.whole),
      );
      if (index < 0) continue;
      const target = doc.list.items[index] as YamlNode;
      let entry = perTarget.get(target);
      if (!entry) {
        entry = { doc, index, r: { whole: false, domains: new Set(), ips: new Set(), labels: [] } };
        perTarget.set(target, entry);
      }
      if (item.kind === "domain") entry.r.domains.add(item.domain);
      else if (item.kind === "ip") entry.r.ips.add(item.text);
      else entry.r.whole = true;
      entry.r.labels.push(itemLabel(item));
      found = true;
      break;
    }
    if (!found)
      throw new InputError("--fix cannot find this target in the file", { file: path, line });
  }
  const wholeByList = new Map<IntentsNode, Set<number>>();
  for (const [target, { doc, index, r }] of perTarget) {
    const result = targetEdits(text, target, r);
    if (result === "whole") {
      const set = wholeByList.get(doc) ?? new Set<number>();
      set.add(index);
      wholeByList.set(doc, set);
    } else edits.push(...result);
    removed.push(...r.labels);
  }

  const portsByTarget = new Map<YamlNode, Set<number>>();
  // Applied after the targets appended at the same place (the end of the last target's ports
  // is the end of the list): edits at one offset come out in reverse order of application.
  const widened: Edit[] = [];
  for (const { line, item, port } of plan.widenings) {
    const target = docs
      .flatMap((d) => d.list.items)
      .find((t) => lineOf(t) === line && targetHolds(t, item));
    const ports = valueAt(target, ["internet", "ports"]);
    if (!target || ports?.kind !== "seq") {
      throw new InputError("--fix cannot find the ports of this target in the file", {
        file: path,
        line,
      });
    }
    const set = portsByTarget.get(ports) ?? new Set<number>();
    set.add(port);
    portsByTarget.set(ports, set);
    added.push(`port ${port} of ${itemLabel(item)}`);
  }
  for (const [ports, wanted] of portsByTarget) {
    if (ports.kind !== "seq") continue;
    const have = new Set(seqValues(ports).map(Number));
    const more = [...wanted].filter((p) => !have.has(p)).sort((a, b) => a - b);
    if (more.length > 0) widened.push(appendItems(text, ports, more));
  }

  const addByDoc = new Map<IntentsNode, unknown[]>();
  for (const { line, workload, targets } of plan.additions) {
    const doc = docs.find(
      (d) =>
        (line === undefined || lineOf(d.node) === line) &&
        declaredWorkload(d) === workload.workload.name,
    );
    if (!doc)
      throw new InputError("--fix cannot find this ClientIntents in the file", {
        file: path,
        ...(line === undefined ? {} : { line }),
      });
    const values: unknown[] = [];
    for (const t of targets) {
      const v = targetInVersion(t, doc.version, workload.workload.namespace);
      if (v === undefined) {
        skipped.push(
          `${path}: ClientIntents ${doc.version} cannot declare ${targetWithPorts(t)}; move it to v2beta1 to add it`,
        );
        continue;
      }
      values.push(v);
      added.push(targetWithPorts(t));
    }
    if (values.length > 0) addByDoc.set(doc, [...(addByDoc.get(doc) ?? []), ...values]);
  }

  for (const doc of docs) {
    const gone = wholeByList.get(doc);
    const adds = addByDoc.get(doc);
    const all = gone !== undefined && gone.size === doc.list.items.length;
    if (all && adds && doc.list.flow) {
      edits.push(replaceFlowItems(text, doc.list, adds));
      continue;
    }
    if (gone && adds && doc.list.flow) {
      // Removed items at the end of a flow list make room for the new ones in one edit.
      let from = doc.list.items.length;
      while (from > 0 && gone.has(from - 1)) from--;
      if (from < doc.list.items.length) {
        edits.push(...removeItems(text, doc.list, new Set([...gone].filter((i) => i < from))));
        edits.push(replaceTrailingFlowItems(text, doc.list, from, adds));
        continue;
      }
    }
    if (gone) edits.push(...removeItems(text, doc.list, gone));
    if (all && !adds && !doc.list.flow) edits.push(emptyValue(text, doc.listKey));
    if (adds) edits.push(appendItems(text, doc.list, adds));
  }
  edits.push(...widened);
  if (edits.length === 0) return undefined;
  const ownBreaks =
    newline === "\n"
      ? edits
      : edits.map((e) => ({ ...e, text: e.text.replace(/\r?\n/g, newline) }));
  let after = applyEdits(text, ownBreaks);
  if (unterminated && after.endsWith(newline)) after = after.slice(0, -newline.length);
  checkStillValid(path, after);
  return { path, before: original, after, added, removed };
}

/**
 * Refuses a fix that leaves a file the reader would refuse: an edit near YAML anchors and
 * aliases can cut an alias from its anchor. The user edits such a file by hand.
 */
function checkStillValid(path: string, after: string): void {
  try {
    clientIntentsFromDocuments(parseYamlDocuments(after, path), "default");
  } catch (e) {
    const why = e instanceof InputError ? e.detail : String(e);
    throw new InputError(
      `--fix cannot edit this file safely (the result would not be valid: ${why}); nothing was changed, edit it by hand`,
      { file: path },
    );
  }
}

/** What `--fix` would write: every changed or new file, and what it cannot fix. */
export function planFix(input: FixInput): FixPlan {
  const byFile = new Map<string, FilePlan>();
  const fileOf = (path: string) => {
    let p = byFile.get(path);
    if (!p) byFile.set(path, (p = { removals: [], widenings: [], additions: [] }));
    return p;
  };
  const skipped: string[] = [];
  const created: FileChange[] = [];
  for (const w of input.diff.workloads) {
    const who = `${w.workload.namespace}/${w.workload.name}`;
    for (const f of w.findings) {
      if (f.verdict !== "unnecessary" || !f.item) continue;
      const { file, line } = f.item.source;
      if (line === undefined) {
        skipped.push(`${who}: ${itemLabel(f.item)} has no line in ${file}`);
        continue;
      }
      fileOf(file).removals.push({ line, item: f.item });
    }
    const missing: TargetV2[] = [];
    for (const f of w.findings) {
      if (f.verdict !== "missing") continue;
      // A port outside a declared target's ports goes into that target's list.
      const port = "internet" in f.target ? f.target.internet.ports : undefined;
      const at = f.widens?.source;
      if (f.widens && at?.line !== undefined && port?.length === 1) {
        fileOf(at.file).widenings.push({ line: at.line, item: f.widens, port: port[0] as number });
      } else missing.push(f.target);
    }
    if (missing.length === 0) continue;
    const targets = targetsToAdd(missing, skipped, who);
    if (targets.length === 0) continue;
    if (w.intents) {
      // The first ClientIntents that can say every target (internet egress needs more than
      // v1alpha2), else the first.
      const able = (w.declaredIn ?? []).find(
        (d) => !d.apiVersion.endsWith("/v1alpha2") || targets.every((t) => !("internet" in t)),
      );
      const at = able?.source ?? w.intents;
      fileOf(at.file).additions.push({ line: at.line, workload: w, targets });
      continue;
    }
    created.push({
      path: input.newFile(w.workload),
      after: renderYaml(clientIntentsObject(w.workload, targets, "v2beta1")),
      added: targets.map(targetWithPorts),
      removed: [],
    });
  }
  const changes: FileChange[] = [];
  for (const [path, plan] of byFile) {
    const text = input.texts.get(path);
    if (text === undefined) {
      throw new InputError("--fix can only edit intents read from files", { file: path });
    }
    const change = fixFile(path, text, plan, skipped);
    if (change) changes.push(change);
  }
  changes.push(...created);
  return { changes, skipped };
}

/** The text of `path` after the plan (unchanged when the plan does not touch it). */
export function applyFix(text: string, plan: FixPlan, path: string): string {
  return plan.changes.find((c) => c.path === path)?.after ?? text;
}
