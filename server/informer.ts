import { Watch, type KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import { objectKey } from "../src/k8s-objects.js";

/**
 * One informer: a paged list, then a watch from the list's resourceVersion, that reports its
 * objects to handlers and keeps none of them (ADR 13). It remembers each object's key,
 * resourceVersion and uid only, so that a relist (a watch that expired) reports exactly what
 * changed while it was away: changed objects again, vanished ones as deleted, after the whole
 * list has been read, so that no object is ever missing in between. Used by the webhook's
 * caches and by the collector.
 */

/** One page of a list, as the API server (or client-node's typed APIs) return it. */
export interface ListPage {
  readonly metadata?: {
    readonly resourceVersion?: string;
    /** client-node's typed lists name it so. */
    readonly _continue?: string;
    readonly continue?: string;
  };
  readonly items: readonly KubernetesObject[];
}

/** Lists one page; `_continue` is the last page's continue token. */
export type Listed = (page: {
  readonly limit: number;
  readonly _continue?: string;
}) => Promise<ListPage>;
export type Log = (entry: Record<string, unknown>) => void;

/** Objects a page holds, as kubectl's `--chunk-size` default. */
export const LIST_PAGE_SIZE = 500;
/**
 * A list hands objects to the handlers for at most this long at a stretch, then lets the event
 * loop run (the webhook's reviews, probes) before it goes on: a page of 500 objects to parse
 * would otherwise hold it for hundreds of milliseconds, a relist's deletions longer.
 */
export const LIST_SLICE_MS = 20;
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30_000;

export interface Watched {
  /** Resolves after the first attempt; `synced` says whether it listed. */
  readonly started: Promise<void>;
  synced(): boolean;
  /** Failed lists and broken watches so far. */
  failures(): number;
  /** Lists again as after an expired watch (410): what the benchmark and tests use. */
  expire(): Promise<void>;
  stop(): Promise<void>;
}

/** What is kept of an object: its resourceVersion, and its uid when the handlers need it. */
interface Known {
  readonly version: string;
  readonly uid?: string;
}

/** What a vanished object is reported as: its identity, which is all that was kept. */
function tombstone(key: string, known: Known): KubernetesObject {
  const slash = key.indexOf("/");
  const namespace = key.slice(0, slash);
  return {
    metadata: {
      name: key.slice(slash + 1),
      ...(namespace ? { namespace } : {}),
      ...(known.uid ? { uid: known.uid } : {}),
      resourceVersion: known.version,
    },
  };
}

function statusOf(e: unknown): number | undefined {
  const x = e as { code?: unknown; statusCode?: unknown } | undefined;
  const code = typeof x?.code === "number" ? x.code : x?.statusCode;
  return typeof code === "number" ? code : undefined;
}

/** What one informer is started with. */
export interface WatchOptions {
  readonly name: string;
  readonly path: string;
  readonly list: Listed;
  /** Query parameters of the watch (a field selector the list also uses). */
  readonly query?: Readonly<Record<string, string>>;
  readonly onChange: (o: KubernetesObject) => void;
  readonly onDelete: (o: KubernetesObject) => void;
  readonly log: Log;
  readonly pageSize?: number;
  /** Keep each object's uid, to report it with a deletion after a relist (pods). */
  readonly keepUid?: boolean;
}

export function watchResource(kc: KubeConfig, opts: WatchOptions): Watched {
  const watch = new Watch(kc);
  const known = new Map<string, Known>();
  /** Where the watch resumes; empty: list first. */
  let version = "";
  let synced = false;
  let stopped = false;
  let errors = 0;
  let retryMs = RETRY_MIN_MS;
  let request: AbortController | undefined;
  /** The watch said its resourceVersion is too old (410): list again when it ends. */
  let expired = false;
  let listing = false;
  let timer: NodeJS.Timeout | undefined;
  /** Callers of expire(), waiting for the next complete list. */
  const waiting: (() => void)[] = [];

  const changed = (o: KubernetesObject): void => {
    const v = o.metadata?.resourceVersion ?? "";
    const key = objectKey(o);
    // Unchanged since it was last reported (a relist sends everything again).
    const before = known.get(key);
    if (v !== "" && before?.version === v) return;
    const uid = opts.keepUid ? o.metadata?.uid : undefined;
    // Deleted and created again under its name while the watch was away (a StatefulSet's
    // pod): the one that went is reported gone first.
    if (uid && before?.uid && before.uid !== uid) opts.onDelete(tombstone(key, before));
    known.set(key, uid ? { version: v, uid } : { version: v });
    opts.onChange(o);
  };

  /** When the handlers' current stretch began (LIST_SLICE_MS). */
  let slice = 0;
  const sliceOver = (): boolean => performance.now() - slice >= LIST_SLICE_MS;
  /**
   * A turn of the event loop (what waits, I/O and timers, runs first), then a new stretch;
   * false if the informer was stopped meanwhile.
   */
  const nextSlice = async (): Promise<boolean> => {
    await new Promise((r) => setImmediate(r));
    slice = performance.now();
    return !stopped;
  };

  /** Reads every page, then reports what vanished. A 410 mid-way (continue expired) restarts. */
  const list = async (): Promise<void> => {
    for (;;) {
      const seen = new Set<string>();
      let token: string | undefined;
      let at = "";
      try {
        do {
          const page = await opts.list({
            limit: opts.pageSize ?? LIST_PAGE_SIZE,
            ...(token ? { _continue: token } : {}),
          });
          if (stopped) return;
          if (token === undefined) at = page.metadata?.resourceVersion ?? "";
          slice = performance.now();
          for (const o of page.items) {
            seen.add(objectKey(o));
            changed(o);
            if (sliceOver() && !(await nextSlice())) return;
          }
          token = page.metadata?._continue || page.metadata?.continue || undefined;
        } while (token && !stopped);
      } catch (e) {
        if (statusOf(e) === 410 && token !== undefined) continue;
        throw e;
      }
      // Stopped part-way: what was not read is not gone.
      if (stopped) return;
      slice = performance.now();
      for (const [key, k] of known) {
        if (seen.has(key)) continue;
        known.delete(key);
        opts.onDelete(tombstone(key, k));
        if (sliceOver() && !(await nextSlice())) return;
      }
      version = at;
      return;
    }
  };

  const retry = (): void => {
    if (stopped) return;
    timer = setTimeout(() => void cycle(), retryMs);
    timer.unref();
    retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
  };

  /**
   * A failed list or a broken watch: events may have been lost, so it is not synced until it
   * has listed again (readiness says so), which it does after a backoff.
   */
  const failed = (msg: string, err: unknown): void => {
    errors++;
    synced = false;
    version = "";
    opts.log({ level: "warn", msg, resource: opts.name, error: String(err) });
    retry();
  };

  /** When the current watch began, whether it delivered anything, and an error it sent. */
  let watchedAt = 0;
  let heard = false;
  let broken: unknown;
  /** A watch is being opened (watch() has not returned yet). */
  let connecting = false;

  const onEvent = (phase: string, o: KubernetesObject): void => {
    if (phase === "ERROR") {
      if (statusOf(o) === 410) expired = true;
      else broken = o;
      return;
    }
    heard = true;
    const v = o.metadata?.resourceVersion;
    if (phase === "ADDED" || phase === "MODIFIED") changed(o);
    else if (phase === "DELETED") {
      known.delete(objectKey(o));
      opts.onDelete(o);
    }
    if (v) version = v;
    retryMs = RETRY_MIN_MS;
  };

  const onDone = (err: unknown): void => {
    request = undefined;
    if (stopped) return;
    const brief = !heard && Date.now() - watchedAt < 1000;
    if (expired || statusOf(err) === 410) {
      // The list we resume from is gone: list again; what is held stays served meanwhile.
      // (At once, unless the watch expired as soon as it began: then after a backoff.)
      expired = false;
      version = "";
      opts.log({ level: "info", msg: "watch expired; listing again", resource: opts.name });
      if (brief) retry();
      else void cycle();
      return;
    }
    const name = (err as { name?: unknown } | undefined)?.name;
    if (broken !== undefined || (err && name !== "TimeoutError" && name !== "AbortError")) {
      failed("watch failed; restarting", broken ?? err);
      return;
    }
    // Ended as soon as it began, with nothing said (a proxy that closes watches): what is held
    // can no longer be kept current.
    if (brief) {
      failed("watch ended at once; restarting", "no events");
      return;
    }
    // The server or the client's idle timer ended it: resume where it was.
    void cycle();
  };

  /** Lists if it must, then watches. */
  const cycle = async (): Promise<void> => {
    if (stopped) return;
    if (version === "") {
      listing = true;
      try {
        await list();
        if (stopped) return;
        // (The backoff is reset by events, not by a list: a watch that keeps failing after
        // good lists still backs off.)
        synced = true;
        for (const done of waiting.splice(0)) done();
      } catch (err) {
        failed("list failed", err);
        return;
      } finally {
        listing = false;
      }
    }
    if (stopped) return;
    try {
      // A watch refused at once has ended before watch() returns: nothing to abort then.
      let ended = false;
      watchedAt = Date.now();
      heard = false;
      broken = undefined;
      connecting = true;
      const controller = await watch
        .watch(
          opts.path,
          { allowWatchBookmarks: true, resourceVersion: version, ...opts.query },
          onEvent,
          (err: unknown) => {
            ended = true;
            onDone(err);
          },
        )
        .finally(() => (connecting = false));
      if (!ended) {
        request = controller;
        // Stopped, or told to list again, while it was connecting.
        if (stopped || expired) controller.abort();
      }
    } catch (err) {
      failed("watch failed; restarting", err);
    }
  };

  return {
    started: cycle(),
    synced: () => synced,
    failures: () => errors,
    expire: () =>
      new Promise<void>((resolve) => {
        waiting.push(resolve);
        if (listing) return; // the list under way is the relist
        if (request) {
          expired = true;
          request.abort();
        } else if (connecting) {
          expired = true; // aborted as soon as it is open
        } else {
          clearTimeout(timer);
          version = "";
          void cycle();
        }
      }),
    stop: () => {
      stopped = true;
      clearTimeout(timer);
      request?.abort();
      return Promise.resolve();
    },
  };
}

/** Informers started together: ready when every one has listed, stopped together. */
export class InformerSet {
  private readonly watched: Watched[] = [];
  private readonly byName = new Map<string, Watched>();
  /** The component has started every watch it needs (allStarted). */
  private complete = false;

  constructor(
    kc: KubeConfig,
    private readonly log: Log,
    /** How an informer is started (tests give their own). */
    private readonly open: (opts: WatchOptions) => Watched = (opts) => watchResource(kc, opts),
  ) {}

  /** Starts one; resolves after its first attempt to list. */
  watch(
    name: string,
    path: string,
    list: Listed,
    onChange: (o: KubernetesObject) => void,
    onDelete: (o: KubernetesObject) => void,
    options: { readonly query?: Readonly<Record<string, string>>; readonly keepUid?: boolean } = {},
  ): Promise<void> {
    const w = this.open({ name, path, list, onChange, onDelete, log: this.log, ...options });
    this.watched.push(w);
    this.byName.set(name, w);
    return w.started;
  }

  /**
   * Says that every watch the component needs has been started (some start only after others
   * have listed): until then the set is not synced.
   */
  allStarted(): void {
    this.complete = true;
  }

  /**
   * Ready: every watch the component needs was started (allStarted), and every one started,
   * however many, has listed and is watching. Readiness follows from the watches themselves:
   * no count to keep beside them.
   */
  synced(): boolean {
    return this.complete && this.watched.every((w) => w.synced());
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

  /** Every informer lists again, as after expired watches. */
  async expire(): Promise<void> {
    await Promise.all(this.watched.map((w) => w.expire()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.watched.map((w) => w.stop().catch(() => undefined)));
  }
}
