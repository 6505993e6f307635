import {
  makeInformer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from "@kubernetes/client-node";

/**
 * One informer (list, then watch) that reports its objects to handlers and restarts itself
 * after a failed list or watch. Used by the webhook's caches and by the collector.
 */

export type Listed = () => Promise<KubernetesListObject<KubernetesObject>>;
export type Log = (entry: Record<string, unknown>) => void;

export interface Watched {
  /** Resolves after the first attempt; `synced` says whether it listed. */
  readonly started: Promise<void>;
  synced(): boolean;
  /** Failed lists and broken watches so far. */
  failures(): number;
  stop(): Promise<void>;
}

export function watchResource(
  kc: KubeConfig,
  opts: {
    readonly name: string;
    readonly path: string;
    readonly list: Listed;
    readonly onChange: (o: KubernetesObject) => void;
    readonly onDelete: (o: KubernetesObject) => void;
    readonly log: Log;
  },
): Watched {
  const informer = makeInformer(kc, opts.path, opts.list);
  informer.on("add", opts.onChange);
  informer.on("update", opts.onChange);
  informer.on("delete", opts.onDelete);
  let synced = false;
  let stopped = false;
  // start() lists, then watches; a failed list or watch is reported as "error", not thrown.
  let errors = 0;
  const attempt = async (): Promise<void> => {
    const before = errors;
    await informer.start().catch((err: unknown) => {
      errors++;
      opts.log({ level: "warn", msg: "list failed", resource: opts.name, error: String(err) });
    });
    if (errors === before) synced = true;
  };
  informer.on("error", (err: unknown) => {
    errors++;
    // Until it has listed again, what it holds may be stale: not synced (readiness says so).
    synced = false;
    if (stopped) return;
    opts.log({
      level: "warn",
      msg: "watch failed; restarting",
      resource: opts.name,
      error: String(err),
    });
    setTimeout(() => void attempt(), 1000).unref();
  });
  return {
    started: attempt(),
    synced: () => synced,
    failures: () => errors,
    stop: () => {
      stopped = true;
      return informer.stop();
    },
  };
}

/** Informers started together: ready when every one has listed, stopped together. */
export class InformerSet {
  private readonly watched: Watched[] = [];
  private readonly byName = new Map<string, Watched>();

  constructor(
    private readonly kc: KubeConfig,
    private readonly log: Log,
  ) {}

  /** Starts one; resolves after its first attempt to list. */
  watch(
    name: string,
    path: string,
    list: Listed,
    onChange: (o: KubernetesObject) => void,
    onDelete: (o: KubernetesObject) => void,
  ): Promise<void> {
    const w = watchResource(this.kc, { name, path, list, onChange, onDelete, log: this.log });
    this.watched.push(w);
    this.byName.set(name, w);
    return w.started;
  }

  /** Whether `count` informers (or all started so far, at least one) have listed. */
  synced(count?: number): boolean {
    const n = this.watched.length;
    return n > 0 && (count === undefined || n === count) && this.watched.every((w) => w.synced());
  }

  /** Stops one informer and forgets it (its resource is no longer served). */
  async unwatch(name: string): Promise<void> {
    const w = this.byName.get(name);
    if (!w) return;
    this.byName.delete(name);
    this.watched.splice(this.watched.indexOf(w), 1);
    await w.stop().catch(() => undefined);
  }

  /** Failed lists and broken watches, by informer. */
  failures(): Map<string, number> {
    return new Map([...this.byName].map(([name, w]) => [name, w.failures()]));
  }

  /** Whether these informers (by name) have listed. */
  syncedOf(names: readonly string[]): boolean {
    return names.every((n) => this.byName.get(n)?.synced() === true);
  }

  async stop(): Promise<void> {
    await Promise.all(this.watched.map((w) => w.stop().catch(() => undefined)));
  }
}
