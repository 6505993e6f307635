import { createServer, type Server } from "node:http";
import { readBody, send } from "../webhook/http-body.js";

/**
 * The collector's HTTP side: /healthz, /readyz, /metrics, and /query, where Otterize's
 * sniffer sends its GraphQL reports. A body that is too large or not JSON is answered 413 or
 * 400 and changes nothing.
 */

export const QUERY_BODY_LIMIT = 8 << 20;

export interface CollectorHttpOptions {
  isReady(): boolean;
  metrics(): string;
  /** A GraphQL request body → the GraphQL answer. */
  query(body: unknown): Record<string, unknown>;
  bodyLimit?: number;
}

export function createCollectorHttp(opts: CollectorHttpOptions): Server {
  const limit = opts.bodyLimit ?? QUERY_BODY_LIMIT;
  return createServer((req, res) => {
    const url = (req.url ?? "/").split("?")[0];
    if (req.method === "GET" && url === "/healthz") return send(res, 200, "ok", "text/plain");
    if (req.method === "GET" && url === "/readyz") {
      return opts.isReady()
        ? send(res, 200, "ok", "text/plain")
        : send(res, 503, "informers not synced", "text/plain");
    }
    if (req.method === "GET" && url === "/metrics") {
      return send(res, 200, opts.metrics(), "text/plain; version=0.0.4");
    }
    if (req.method !== "POST" || url !== "/query") return send(res, 404, '{"error":"not found"}');
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
