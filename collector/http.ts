import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { readBody, send } from "../webhook/http-body.js";

/**
 * The collector's HTTP sides. The main one serves /healthz, /readyz and /metrics. Otterize's
 * sniffer sends its GraphQL reports to /query on a port of its own, served only when asked for
 * (`--sniffer-listen`), so that a NetworkPolicy can admit only the sniffer's pods to it: reports
 * are observations, and whoever can post them can write ObservedEgress. A body that is too
 * large or not JSON is answered 413 or 400 and changes nothing.
 */

export const QUERY_BODY_LIMIT = 8 << 20;

export interface CollectorHttpOptions {
  isReady(): boolean;
  metrics(): string;
}

export interface SnifferHttpOptions {
  /** A GraphQL request body → the GraphQL answer. */
  query(body: unknown): Record<string, unknown>;
  bodyLimit?: number;
}

const path = (req: IncomingMessage): string => (req.url ?? "/").split("?")[0] ?? "/";
const notFound = (res: ServerResponse): void => send(res, 404, '{"error":"not found"}');

export function createCollectorHttp(opts: CollectorHttpOptions): Server {
  return createServer((req, res) => {
    const url = path(req);
    if (req.method === "GET" && url === "/healthz") return send(res, 200, "ok", "text/plain");
    if (req.method === "GET" && url === "/readyz") {
      return opts.isReady()
        ? send(res, 200, "ok", "text/plain")
        : send(res, 503, "informers not synced", "text/plain");
    }
    if (req.method === "GET" && url === "/metrics") {
      return send(res, 200, opts.metrics(), "text/plain; version=0.0.4");
    }
    notFound(res);
  });
}

/** The sniffer's endpoint: POST /query and nothing else. */
export function createSnifferHttp(opts: SnifferHttpOptions): Server {
  const limit = opts.bodyLimit ?? QUERY_BODY_LIMIT;
  return createServer((req, res) => {
    if (req.method !== "POST" || path(req) !== "/query") return notFound(res);
    readBody(req, limit).then(
      (body) => {
        if (body === "too-large") {
          return send(
            res,
            413,
            JSON.stringify({ errors: [{ message: `body larger than ${limit} bytes` }] }),
          );
        }
        let json: unknown;
        try {
          json = JSON.parse(body.toString("utf8"));
        } catch {
          return send(res, 400, JSON.stringify({ errors: [{ message: "the body is not JSON" }] }));
        }
        send(res, 200, JSON.stringify(opts.query(json)));
      },
      () => res.destroy(),
    );
  });
}
