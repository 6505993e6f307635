import { createServer, type Server } from "node:http";
import type { Registry } from "prom-client";
import { finalHandlers, probeRoutes, serverApp } from "../server/app.js";
import { readBody, send } from "../server/http-body.js";

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
  readonly registry: Registry;
}

export interface SnifferHttpOptions {
  /** A GraphQL request body → the GraphQL answer. */
  query(body: unknown): Record<string, unknown>;
  bodyLimit?: number;
}

export function createCollectorHttp(opts: CollectorHttpOptions): Server {
  const app = serverApp();
  probeRoutes(app, {
    isReady: () => opts.isReady(),
    notReady: "not accepting dnstap yet",
    registry: opts.registry,
  });
  finalHandlers(app);
  return createServer(app);
}

const graphqlError = (message: string): string => JSON.stringify({ errors: [{ message }] });

/** The sniffer's endpoint: POST /query and nothing else. */
export function createSnifferHttp(opts: SnifferHttpOptions): Server {
  const limit = opts.bodyLimit ?? QUERY_BODY_LIMIT;
  const app = serverApp();
  app.post("/query", (req, res, next) => {
    readBody(req, limit)
      .then((body) => {
        if (body === "too-large") {
          return send(res, 413, graphqlError(`body larger than ${limit} bytes`));
        }
        let json: unknown;
        try {
          json = JSON.parse(body.toString("utf8"));
        } catch {
          return send(res, 400, graphqlError("the body is not JSON"));
        }
        send(res, 200, JSON.stringify(opts.query(json)));
      })
      .catch(next);
  });
  finalHandlers(app);
  return createServer(app);
}
