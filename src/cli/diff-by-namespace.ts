import type { ClientIntents } from "../client-intents.js";
import { diffEgress, hasFailingFindings, summarize, type Summary } from "../diff.js";
import type { ObservedWorkload } from "../observed-egress.js";
import { diffReportParts } from "../report.js";
import { JsonWithArray } from "../render/serialize.js";
import { VERDICTS } from "../verdicts.js";
import type { Invocation } from "./invocation.js";
import { diffInput, type Gathered } from "./run.js";

/**
 * `diff -o json` of the cluster judged one namespace at a time (ADR 17): the same report as
 * runDiff's, byte for byte, from each namespace's ClientIntents and observations as the lists
 * reach them. Verdicts are per workload, and a workload is in one namespace, so a namespace's
 * verdicts need nothing of the others. The summary comes first in the report but is known
 * last: the workloads' text is kept (by the caller) until `start` can be written, and the
 * caller writes the namespaces in the report's order (by name), whatever order they came in.
 */
export class DiffByNamespace {
  /** The namespaces' summaries added up (its `workloads`: how many items were written). */
  private readonly summary: Summary = summarize([]);
  /** What the items are written in: only the array's place in it matters, not the summary. */
  private readonly items: JsonWithArray;

  constructor(
    private readonly inv: Invocation,
    private readonly shared: Pick<Gathered, "listening" | "now" | "namespaces">,
  ) {
    this.items = this.report();
  }

  /**
   * Judges one namespace; its workloads' JSON, each built when read (read them all). They are
   * separated from each other, not from another namespace's: see `between`.
   */
  add(intents: readonly ClientIntents[], observed: readonly ObservedWorkload[]): Iterable<string> {
    const diff = diffEgress(
      diffInput(this.inv, {
        ...this.shared,
        intents,
        observed,
        workloadScope: "namespaces",
      }),
    );
    this.summary.workloads += diff.summary.workloads;
    for (const v of VERDICTS) this.summary[v] += diff.summary[v];
    const items = this.items;
    function* text() {
      let n = 0;
      for (const w of diffReportParts(diff).workloads) yield items.item(w, n++);
    }
    return text();
  }

  /** What goes between two namespaces' workloads (both with some). */
  get between(): string {
    return this.items.separator;
  }

  /** The report up to its first workload: written once every namespace has been added. */
  start(): string {
    return this.report().start(this.summary.workloads);
  }

  end(): string {
    return this.report().end(this.summary.workloads);
  }

  get exitCode(): 0 | 1 {
    return hasFailingFindings({ summary: this.summary }, this.inv.failOn) ? 1 : 0;
  }

  private report(): JsonWithArray {
    const { head } = diffReportParts({
      now: this.shared.now,
      windowMs: this.inv.windowMs,
      summary: this.summary,
      workloads: [],
    });
    return new JsonWithArray(head, "workloads");
  }
}
