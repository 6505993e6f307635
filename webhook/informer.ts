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
    stop: () => {
      stopped = true;
      return informer.stop();
    },
  };
}
