import type { KubeConfig, V1Lease } from "@kubernetes/client-node";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { KubeFlags } from "../src/cli/invocation.js";
import {
  clientIntentsFromObject,
  INTENTS_GROUP,
  INTENTS_PLURAL,
  INTENTS_VERSIONS,
  type ClientIntents,
} from "../src/client-intents.js";
import {
  leaseReading,
  listeningFromLease,
  LEASE_NAME,
  type LeaseReading,
} from "../src/collector-lease.js";
import type { NamespaceScope } from "../src/diff.js";
import { ClusterError, InputError, UsageError } from "../src/errors.js";
import { formatDuration, parseDuration } from "../src/duration.js";
import { DEFAULT_CHUNK_SIZE, DEFAULT_REQUEST_TIMEOUT } from "../src/cli/defaults.js";
import {
  OBSERVED_GROUP,
  OBSERVED_PLURAL,
  OBSERVED_VERSION,
  observedFromObject,
  type ObservedWorkload,
} from "../src/observed-egress.js";
import type { Obj } from "../src/shape.js";
import type { IntentsSource, ObservedSource } from "../src/sources.js";
import type { Listening } from "../src/verdicts.js";
import { ListItems, NotAList } from "../src/list-items.js";
import {
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  fetch,
  HttpMethod,
  RequestContext,
  SharedConnectionsKubeConfig,
} from "../kube/plugin-client.js";

/**
 * Reading ObservedEgress, ClientIntents and the collector's Lease from a cluster, with
 * kubectl's flags: --kubeconfig, --context, -n/-A, --request-timeout.
 */

/** kubectl has no request timeout by default; an unreachable cluster should still end. */
const DEFAULT_TIMEOUT_MS = parseDuration(DEFAULT_REQUEST_TIMEOUT);
/**
 * ClientIntents are listed in the newest version the cluster serves; the API server converts
 * every stored object to it (through Otterize's conversion webhook where the operator runs).
 */
const INTENTS_LIST_VERSIONS = [...INTENTS_VERSIONS].reverse();
const CHUNK_SIZE = Number(DEFAULT_CHUNK_SIZE);

interface Status {
  message?: string;
  reason?: string;
  code?: number;
}

function statusOf(e: unknown): { code: number; status: Status } | undefined {
  const err = e as { code?: unknown; body?: unknown };
  if (typeof err?.code !== "number") return undefined;
  let status: Status = {};
  if (typeof err.body === "string") {
    try {
      status = JSON.parse(err.body) as Status;
    } catch {
      status = { message: err.body };
    }
  } else if (err.body && typeof err.body === "object") {
    status = err.body as Status;
  }
  return { code: err.code, status };
}

/** Whether kubectl would find a kubeconfig (or run in a pod): $KUBECONFIG, ~/.kube/config. */
function anyKubeconfig(): boolean {
  if (process.env.KUBECONFIG) return true;
  if (process.env.KUBERNETES_SERVICE_HOST) return true;
  return existsSync(join(homedir(), ".kube", "config"));
}

/**
 * A list's continue token the API server no longer takes (410 Gone: etcd was compacted past
 * the list's snapshot), which is only likely when a list is read slowly.
 */
export class ExpiredList extends ClusterError {}

export class Cluster {
  readonly server: string;
  readonly contextNamespace: string | undefined;
  private readonly timeoutMs: number;
  private readonly chunkSize: number;
  /** Told how many objects of a list have been read, after each chunk. */
  progress: ((plural: string, read: number) => void) | undefined;
  private readonly kc: KubeConfig;
  private readonly coordination: CoordinationV1Api;
  private readonly core: CoreV1Api;
  /** The kubeconfig's context names. */
  readonly contexts: string[];

  private constructor(kc: KubeConfig, flags: KubeFlags) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.contexts = kc.getContexts().map((c) => c.name);
    this.server = kc.getCurrentCluster()?.server ?? "<no server>";
    const context = kc.getContextObject(kc.getCurrentContext());
    this.contextNamespace = context?.namespace || undefined;
    this.timeoutMs = flags.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.chunkSize = flags.chunkSize ?? CHUNK_SIZE;
    this.kc = kc;
    this.coordination = kc.makeApiClient(CoordinationV1Api);
  }

  /** Loads the kubeconfig as kubectl does: --kubeconfig, else $KUBECONFIG, else ~/.kube/config. */
  static connect(flags: KubeFlags): Cluster {
    if (flags.kubeconfig === undefined && !anyKubeconfig()) {
      // What kubectl says without one, and what works without a cluster.
      throw new ClusterError(
        "The connection to the server localhost:8080 was refused - did you specify the right host or port? (no kubeconfig: set --kubeconfig or KUBECONFIG; without a cluster, give --intents and --observed)",
      );
    }
    const kc = new SharedConnectionsKubeConfig();
    try {
      if (flags.kubeconfig !== undefined) {
        if (!existsSync(flags.kubeconfig)) {
          throw new InputError("no such file or directory", { file: flags.kubeconfig });
        }
        kc.loadFromFile(flags.kubeconfig);
      } else {
        kc.loadFromDefault();
      }
    } catch (e) {
      if (e instanceof InputError) throw e;
      throw new InputError(`invalid kubeconfig: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (flags.context !== undefined) {
      if (!kc.getContextObject(flags.context)) {
        throw new UsageError(`context "${flags.context}" does not exist`);
      }
      kc.setCurrentContext(flags.context);
    }
    if (!kc.getCurrentCluster()) {
      throw new UsageError(
        "no cluster is configured: set --kubeconfig or KUBECONFIG, or pass --observed and --intents",
      );
    }
    return new Cluster(kc, flags);
  }

  /** A request, and its error as one line; `request` is given a signal aborted at the timeout. */
  private async call<T>(what: string, request: (signal: AbortSignal) => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const abort = new AbortController();
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        abort.abort();
        reject(
          new ClusterError(
            `the Kubernetes API at ${this.server} did not answer within ${formatDuration(this.timeoutMs)} (${what})`,
          ),
        );
      }, this.timeoutMs);
    });
    try {
      return await Promise.race([request(abort.signal), timeout]);
    } catch (e) {
      // Ours already (an object read from the answer that is not valid: InputError) as it is.
      if (e instanceof ClusterError || e instanceof InputError || e instanceof UsageError) throw e;
      const s = statusOf(e);
      if (s) {
        const detail = s.status.message ?? `HTTP ${s.code}`;
        const reason =
          s.code === 403 ? "Forbidden" : s.code === 401 ? "Unauthorized" : (s.status.reason ?? "");
        const message = `${reason ? `${reason}: ` : ""}${detail}`;
        throw s.code === 410 ? new ExpiredList(message) : new ClusterError(message);
      }
      const cause = (e as { cause?: { message?: string } }).cause?.message;
      const message = e instanceof Error ? e.message : String(e);
      throw new ClusterError(
        `cannot reach the Kubernetes API at ${this.server}: ${cause ?? message}`,
      );
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The objects of a custom resource in the scope, read in chunks (--chunk-size) as kubectl
   * reads them: each chunk's objects taken by `each` as it arrives, yielded chunk by chunk, in
   * the API server's order (namespace, then name). Only what `each` keeps outlives a chunk.
   */
  async *pages<T>(
    group: string,
    version: string,
    plural: string,
    scope: NamespaceScope,
    each: (o: Obj) => T,
  ): AsyncGenerator<T[]> {
    const namespaces = scope.all ? [undefined] : [...scope.names].sort();
    let read = 0;
    for (const namespace of namespaces) {
      let cont: string | undefined;
      do {
        const chunk = await this.chunk(group, version, plural, namespace, cont, each);
        read += chunk.items.length;
        this.progress?.(plural, read);
        cont = chunk.cont;
        yield chunk.items;
      } while (cont);
    }
  }

  /**
   * One chunk of a list, its objects taken by `each` one by one as the answer arrives (ADR 22):
   * neither the answer's text (12 MB for 500 ObservedEgress) nor all its objects are ever held.
   */
  private async chunk<T>(
    group: string,
    version: string,
    plural: string,
    namespace: string | undefined,
    cont: string | undefined,
    each: (o: Obj) => T,
  ): Promise<{ items: T[]; cont: string | undefined }> {
    const query = new URLSearchParams();
    if (this.chunkSize > 0) query.set("limit", String(this.chunkSize));
    if (cont) query.set("continue", cont);
    const where = namespace === undefined ? "" : `namespaces/${encodeURIComponent(namespace)}/`;
    const path = `/apis/${group}/${version}/${where}${plural}?${query.toString()}`;
    const what = `list ${plural}.${group}`;
    return this.call(what, async (signal) => {
      const request = new RequestContext(
        `${this.server.replace(/\/+$/, "")}${path}`,
        HttpMethod.GET,
      );
      request.setHeaderParam("Accept", "application/json");
      await this.kc.applySecurityAuthentication(request);
      // The connection pool and TLS the kubeconfig asks for, with undici's fetch, as
      // client-node's own requests are made.
      const dispatcher = request.getDispatcher();
      const answer = await fetch(request.getUrl(), {
        headers: request.getHeaders(),
        signal,
        ...(dispatcher ? { dispatcher } : {}),
      });
      // As client-node's own requests fail (statusOf reads its code and Status body).
      if (!answer.ok) {
        throw new ApiException(answer.status, answer.statusText, await answer.text(), {});
      }
      const split = new ListItems();
      const items: T[] = [];
      let list: { items?: unknown; metadata?: { continue?: string } };
      try {
        if (answer.body)
          for await (const bytes of answer.body)
            for (const o of split.push(bytes)) items.push(each(o as Obj));
        list = split.end() as typeof list;
      } catch (e) {
        if (e instanceof NotAList)
          throw new ClusterError(`the API server's answer to ${what} is not a List: ${e.detail}`);
        throw e;
      }
      // Items the split did not find where the API server puts them are in the envelope.
      if (Array.isArray(list.items)) for (const o of list.items) items.push(each(o as Obj));
      return { items, cont: list.metadata?.continue || undefined };
    });
  }

  /** The namespaces' names. */
  async namespaceNames(): Promise<string[]> {
    const list = await this.call("list namespaces", () => this.core.listNamespace());
    return list.items.map((n) => n.metadata?.name ?? "").filter(Boolean);
  }

  async lease(namespace: string): Promise<LeaseReading> {
    try {
      const lease: V1Lease = await this.call("read the collector Lease", () =>
        this.coordination.readNamespacedLease({ name: LEASE_NAME, namespace }),
      );
      return leaseReading(lease);
    } catch (e) {
      if (e instanceof ClusterError && /^Forbidden/.test(e.message))
        return { found: false, why: "forbidden" };
      if (e instanceof ClusterError && /not ?found/i.test(e.message))
        return { found: false, why: "missing" };
      throw e;
    }
  }
}

export class ClusterObserved implements ObservedSource {
  readonly offline = false;
  constructor(
    private readonly cluster: Cluster,
    private readonly scope: NamespaceScope,
    private readonly collectorNamespace: string,
    private readonly now: number,
  ) {}

  async observed(): Promise<ObservedWorkload[]> {
    return collect(this.pages());
  }

  /** The observations chunk by chunk, in the API server's order. */
  pages(): AsyncGenerator<ObservedWorkload[]> {
    return this.cluster.pages(
      OBSERVED_GROUP,
      OBSERVED_VERSION,
      OBSERVED_PLURAL,
      this.scope,
      observedFromObject,
    );
  }

  async listening(): Promise<Listening> {
    return listeningFromLease(
      await this.cluster.lease(this.collectorNamespace),
      this.collectorNamespace,
      this.now,
    );
  }
}

export class ClusterIntents implements IntentsSource {
  readonly fromFiles = false;
  constructor(
    private readonly cluster: Cluster,
    private readonly scope: NamespaceScope,
  ) {}

  async intents(defaultNamespace: string): Promise<ClientIntents[]> {
    return collect(this.pages(defaultNamespace));
  }

  /**
   * The ClientIntents chunk by chunk, in the API server's order, in the newest version the
   * cluster serves: a version it does not serve fails at the first chunk, and the next is tried.
   */
  async *pages(defaultNamespace: string): AsyncGenerator<ClientIntents[]> {
    let lastError: unknown;
    for (const version of INTENTS_LIST_VERSIONS) {
      const pages = this.cluster.pages(INTENTS_GROUP, version, INTENTS_PLURAL, this.scope, (o) =>
        clientIntentsFromObject(o, defaultNamespace),
      );
      let first: IteratorResult<ClientIntents[]>;
      try {
        first = await pages.next();
      } catch (e) {
        if (e instanceof ClusterError && /^NotFound|404|not found/i.test(e.message)) {
          lastError = e;
          continue;
        }
        throw e;
      }
      if (first.done) return;
      yield first.value;
      yield* pages;
      return;
    }
    throw lastError instanceof Error
      ? lastError
      : new ClusterError("ClientIntents are not served by this cluster");
  }
}

async function collect<T>(pages: AsyncIterable<T[]>): Promise<T[]> {
  const out: T[] = [];
  for await (const page of pages) for (const item of page) out.push(item);
  return out;
}
