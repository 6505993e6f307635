import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { AdmissionAnswer, AdmissionRequest } from "../src/admission/review.js";
import { parseReview, reviewResponse } from "../src/admission/review.js";
import { finalHandlers, probeRoutes, serverApp } from "../server/app.js";
import { readBody, send } from "../server/http-body.js";
import { Metrics } from "./metrics.js";
import { TurnBatch, type Reply } from "./turn-batch.js";

/**
 * The webhook's HTTPS server, an express app: /validate answers AdmissionReviews, /healthz,
 * /readyz and /metrics serve probes and Prometheus. The body is read here, with a size limit; the
 * decision comes from `decide`, which reads only in-memory caches, with the other reviews of the
 * same turn of the event loop (turn-batch.ts).
 */

export interface WebhookServerOptions {
  readonly tls: { cert: string; key: string };
  /** The oldest TLS version served (default TLSv1.2). */
  readonly minVersion?: "TLSv1.2" | "TLSv1.3";
  /** Undefined while the caches have not synced. */
  readonly decide: (req: AdmissionRequest) => AdmissionAnswer | undefined;
  readonly isReady: () => boolean;
  /** Said with a ready answer (a cluster without Otterize's CRD). */
  readonly readyNote?: () => string | undefined;
  /** Failed lists and broken watches, by cache (a metric). */
  readonly cacheFailures?: () => ReadonlyMap<string, number>;
  /** How to answer before the caches are synced: Fail denies, Ignore allows (with a warning). */
  readonly failurePolicy: "Fail" | "Ignore";
  readonly bodyLimit?: number;
  readonly requestTimeoutMs?: number;
  readonly log?: (entry: Record<string, unknown>) => void;
  /** Log allowed reviews without warnings too (debug); else they are only counted. */
  readonly logAllowed?: boolean;
}

export const DEFAULT_BODY_LIMIT = 4 << 20;

/** A review the webhook could not decide, answered by the failure policy, saying why. */
function byPolicy(policy: "Fail" | "Ignore", why: string): AdmissionAnswer {
  return policy === "Fail"
    ? { allowed: false, message: `${why} (failurePolicy Fail)`, warnings: [] }
    : { allowed: true, warnings: [`${why}; allowed unchecked (failurePolicy Ignore)`] };
}

export function notReadyAnswer(policy: "Fail" | "Ignore"): AdmissionAnswer {
  return byPolicy(
    policy,
    "otter egress webhook is starting: its caches of ObservedEgress, ClientIntents and Namespaces have not synced yet",
  );
}

/**
 * A decision that threw (a bug): said as such, with the review's uid to find the log line, and
 * answered by the failure policy. Not the caches' answer, which sends the reader to RBAC.
 */
export function internalErrorAnswer(policy: "Fail" | "Ignore", uid: string): AdmissionAnswer {
  return byPolicy(
    policy,
    `otter egress webhook: internal error while deciding review ${uid} (see the webhook's log)`,
  );
}

/** Longer than the API server's idle timeout for webhook connections (90 s). */
export const KEEP_ALIVE_MS = 100_000;

/** The path of a request's URL, without its query. */
function pathOf(req: IncomingMessage): string {
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  return q < 0 ? url : url.slice(0, q);
}

/** The review route's paths: /validate (older registrations), /validate/enforce, /validate/warn. */
const REVIEW_PATH = /^\/validate(\/[a-z]+)?$/;

export function createWebhookServer(opts: WebhookServerOptions): {
  server: Server;
  metrics: Metrics;
} {
  const metrics = new Metrics(opts.cacheFailures);
  const limit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const log = opts.log ?? (() => undefined);
  const track = new Connections();
  const app = serverApp();
  app.use((req, res, next) => {
    track.request(req, res);
    next();
  });
  probeRoutes(app, {
    isReady: opts.isReady,
    notReady: "caches not synced (or a watch broke and is listing again)",
    ...(opts.readyNote ? { readyNote: opts.readyNote } : {}),
    registry: metrics.registry,
  });
  const batch = new TurnBatch(64, (e, when) => {
    // A bug after the decision: the review was answered 500, which the failure policy answers.
    if (when === "answer") metrics.internalError();
    log({
      level: "error",
      msg: when === "answer" ? "answering a review failed" : "sending a review's answer failed",
      error: e instanceof Error ? (e.stack ?? e.message) : String(e),
    });
  });
  /** A review's answer, from its whole body (see TurnBatch for when it runs). */
  const answerOf = (
    body: Buffer | "too-large",
    policy: "Fail" | "Ignore",
    started: bigint,
  ): Reply => {
    if (body === "too-large") {
      metrics.rejected("too-large");
      return { status: 413, body: JSON.stringify({ error: `body larger than ${limit} bytes` }) };
    }
    let json: unknown;
    try {
      json = JSON.parse(body.toString("utf8"));
    } catch {
      metrics.rejected("bad-json");
      return { status: 400, body: JSON.stringify({ error: "the body is not JSON" }) };
    }
    const parsed = parseReview(json);
    if ("error" in parsed) {
      metrics.rejected("bad-review");
      return { status: 400, body: JSON.stringify({ error: parsed.error }) };
    }
    const request = parsed.request;
    let answer: AdmissionAnswer;
    try {
      answer = opts.decide(request) ?? notReadyAnswer(policy);
    } catch (e) {
      // A bug must not take the server down: answer by the failure policy, and say so.
      log({
        level: "error",
        msg: "decision failed",
        uid: request.uid,
        kind: request.kind.kind,
        namespace: request.namespace,
        name: request.name,
        error: e instanceof Error ? (e.stack ?? e.message) : String(e),
      });
      metrics.internalError();
      answer = internalErrorAnswer(policy, request.uid);
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    metrics.decided(answer, seconds, request.dryRun);
    // Denials and warnings are what an operator looks for. An allowed review is counted
    // (otter_egress_admission_decisions_total); at thousands a second, a log line each
    // would cost throughput. --log-level debug logs them too.
    const quiet = answer.allowed && answer.warnings.length === 0;
    if (!quiet || opts.logAllowed)
      log({
        level: quiet ? "debug" : "info",
        msg: "admission",
        uid: request.uid,
        kind: request.kind.kind,
        namespace: request.namespace,
        name: request.name,
        allowed: answer.allowed,
        dryRun: request.dryRun,
        ms: Math.round(seconds * 1000),
      });
    return { status: 200, body: JSON.stringify(reviewResponse(request.uid, answer)) };
  };
  const review = (req: IncomingMessage, res: ServerResponse) => {
    const started = process.hrtime.bigint();
    // The warn entry calls /validate/warn: whatever goes wrong there, the answer is allow.
    const policy = pathOf(req) === "/validate/warn" ? "Ignore" : opts.failurePolicy;
    readBody(req, limit).then(
      (body) =>
        batch.add(
          () => answerOf(body, policy, started),
          // Unless a request timeout has answered it meanwhile.
          (reply) => {
            if (!res.headersSent) send(res, reply.status, reply.body);
          },
        ),
      () => {
        // A body that broke off mid-way: answered if nothing was sent yet.
        if (!res.headersSent) send(res, 400, JSON.stringify({ error: "could not read the body" }));
      },
    );
  };
  app.post(REVIEW_PATH, review);
  finalHandlers(app);
  const server = createServer(
    { cert: opts.tls.cert, key: opts.tls.key, minVersion: opts.minVersion ?? "TLSv1.2" },
    (req, res) => {
      // Reviews are answered before express: its per-request set-up (the request's and
      // response's prototypes swapped, the router walked) cost a fifth of the webhook's
      // throughput (ADR 11). Everything else, and a review the check misses, is the app's.
      if (req.method === "POST" && REVIEW_PATH.test(pathOf(req))) {
        track.request(req, res);
        review(req, res);
        return;
      }
      app(req, res);
    },
  );
  server.on("connection", (socket: Socket) => track.accepted(socket));
  server.on("secureConnection", (socket: Socket) => track.opened(socket));
  connections.set(server, track);
  server.requestTimeout = opts.requestTimeoutMs ?? 10_000;
  server.headersTimeout = Math.min(server.requestTimeout, 10_000);
  // The API server keeps idle connections to webhooks for up to 90 s: closing them sooner
  // (Node's default is 5 s) races its next request on the same connection, which it then
  // reports as "failed calling webhook" (a denial under failurePolicy Fail).
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  return { server, metrics };
}

/**
 * The server's TLS connections and how many requests each has in flight, for a shutdown that
 * loses no review (ADR 21). Node's own closeIdleConnections misses connections that never sent
 * a request (the API server keeps some open).
 */
class Connections {
  private readonly open = new Map<Socket, number>();
  /** Every TCP connection until it closes (in its handshake, or under an open TLS one). */
  private readonly tcp = new Set<Socket>();
  private draining = false;
  /** Idle connections are being ended: the drain is over. */
  private ending = false;
  private onEmpty: (() => void) | undefined;

  /** A TCP connection: in its TLS handshake, then under the TLS connection `opened` gets. */
  accepted(socket: Socket): void {
    this.tcp.add(socket);
    socket.once("close", () => {
      this.tcp.delete(socket);
      this.settle();
    });
  }

  opened(socket: Socket): void {
    this.open.set(socket, 0);
    socket.once("close", () => {
      this.open.delete(socket);
      this.settle();
    });
    if (this.ending) socket.end();
  }

  /** A request in flight on its connection until its response is sent. */
  request(req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket;
    this.open.set(socket, (this.open.get(socket) ?? 0) + 1);
    if (this.draining) res.setHeader("connection", "close");
    res.once("finish", () => this.finished(socket));
  }

  private finished(socket: Socket): void {
    const n = this.open.get(socket);
    // A connection already closed is not counted again.
    if (n === undefined) return;
    this.open.set(socket, n - 1);
    if (this.ending && n === 1) socket.end();
  }

  private settle(): void {
    if (this.draining && this.open.size === 0 && this.tcp.size === 0) this.onEmpty?.();
  }

  /**
   * From now on every answer, and every one not yet sent, says `Connection: close`: the client
   * closes the connection after reading it, knowing it may not reuse it. `onEmpty` is called
   * once no connection is left.
   */
  drain(onEmpty: () => void): void {
    this.draining = true;
    this.onEmpty = onEmpty;
    // The answer a connection is writing is Node's `_httpMessage` on it: reached there, not
    // kept by each request (a set of every answer in flight slowed young collections).
    for (const socket of this.open.keys()) {
      const res = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
      if (res && !res.headersSent) res.setHeader("connection", "close");
    }
    this.settle();
  }

  /**
   * Ends the connections left idle (a client may be writing on one right now: the drain made
   * that unlikely, nothing in HTTP/1.1 makes it impossible), the busy ones once their answer is
   * sent, and cuts whatever is still open after `graceMs`.
   */
  end(graceMs: number): void {
    this.ending = true;
    for (const [socket, n] of this.open) if (n === 0) socket.end();
    // A client that neither finishes nor closes does not keep the process alive. (The TCP
    // sockets `accepted` holds are also those under open TLS connections: cut only now.)
    setTimeout(() => {
      for (const socket of this.open.keys()) socket.destroy();
      for (const socket of this.tcp) socket.destroy();
    }, graceMs).unref();
  }
}

const connections = new WeakMap<Server, Connections>();

/**
 * Shuts the server down without failing a call the API server is making (ADR 21), and resolves
 * once it is closed. For `drainMs` the server goes on answering, each answer with
 * `Connection: close`, so the API server drops every connection it uses; a connection ended
 * under it instead fails the review it is writing ("write: broken pipe"), a refused apply under
 * failurePolicy Fail. The drain ends early once no connection is left. Then the server stops
 * listening and ends idle connections, busy ones after their answer, and cuts any still open
 * `graceMs` after the start.
 */
export function shutdown(
  server: Server,
  graceMs = 20_000,
  drainMs = Math.min(15_000, graceMs),
): Promise<void> {
  const track = connections.get(server);
  return new Promise((resolve) => {
    let stopping = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      clearTimeout(drained);
      server.close(() => resolve());
      track?.end(Math.max(0, graceMs - drainMs));
    };
    const drained = setTimeout(stop, drainMs);
    if (track) track.drain(stop);
    else stop();
  });
}
