import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

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

function send(res: ServerResponse, code: number, body: string, type = "application/json"): void {
  res.writeHead(code, { "content-type": type, "content-length": Buffer.byteLength(body) });
  res.end(body);
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | "too-large"> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers["content-length"] ?? 0) > limit) {
      req.resume();
      resolve("too-large");
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.destroy();
        resolve("too-large");
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
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
