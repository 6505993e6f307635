import type { EgressDiff } from "../diff.js";
import type { Verdict } from "../verdicts.js";
import { summaryLine } from "./diff-table.js";
import {
  driftFindings,
  findingLevel,
  findingLocation,
  findingMessage,
  findingTitle,
} from "./finding-text.js";

/**
 * `-o github`: GitHub Actions workflow commands. Each drift finding becomes an annotation on
 * the intents file (`::error file=…,line=…,title=…::message`); the summary is a plain log line.
 */

/** Escapes a workflow command's message (GitHub's own toolkit escapes the same characters). */
export function escapeData(s: string): string {
  return s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

/** Escapes a workflow command's property value: the data escapes, plus `:` and `,`. */
export function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, "%3A").replace(/,/g, "%2C");
}

/** A path as GitHub matches it against the repository: relative, forward slashes, no "./". */
export function annotationPath(file: string): string {
  return file.replace(/\\/g, "/").replace(/^(\.\/)+/, "");
}

export function renderGithub(diff: EgressDiff, failOn: ReadonlySet<Verdict>): string {
  const out: string[] = [];
  for (const { workload, finding } of driftFindings(diff.workloads)) {
    const props: string[] = [];
    const at = findingLocation(workload, finding);
    if (at) {
      props.push(`file=${escapeProperty(annotationPath(at.file))}`);
      if (at.line !== undefined) props.push(`line=${at.line}`);
    }
    props.push(`title=${escapeProperty(findingTitle(finding))}`);
    const level = findingLevel(finding, failOn);
    out.push(`::${level} ${props.join(",")}::${escapeData(findingMessage(workload, finding))}`);
  }
  out.push(summaryLine(diff));
  return out.join("\n") + "\n";
}
