import express, { type Express, type NextFunction, type Request, type Response } from "express";
import type { Registry } from "prom-client";
import { send } from "./http-body.js";

/**
 * The skeleton both servers share: an express app without framework headers, ETags or query
 * parsing; the probes and /metrics; and answers for unknown routes and for errors, so that
 * no request can take a server down.
 */

export interface Probes {
  isReady(): boolean;
  /** Said with a 503 from /readyz. */
  readonly notReady: string;
  /** Said with a ready answer. */
  readyNote?(): string | undefined;
  readonly registry: Registry;
}

export function serverApp(): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.set("query parser", false);
  return app;
}

/** GET /healthz, /readyz and /metrics. */
export function probeRoutes(app: Express, probes: Probes): void {
  app.get("/healthz", (_req, res) => send(res, 200, "ok", "text/plain"));
  app.get("/readyz", (_req, res) => {
    if (!probes.isReady()) return send(res, 503, probes.notReady, "text/plain");
    const note = probes.readyNote?.();
    send(res, 200, note ? `ok: ${note}` : "ok", "text/plain");
  });
  app.get("/metrics", (_req, res, next) => {
    probes.registry.metrics().then(
      (text) => send(res, 200, text, probes.registry.contentType),
      (e: unknown) => next(e),
    );
  });
}

/** The last handlers: 404 for anything unrouted, and an error that is answered, not thrown. */
export function finalHandlers(app: Express): void {
  app.use((_req: Request, res: Response) => send(res, 404, '{"error":"not found"}'));
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    void _next;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const status = (err as { status?: number }).status;
    const code = typeof status === "number" && status >= 400 && status < 500 ? status : 500;
    send(res, code, JSON.stringify({ error: code === 500 ? "internal error" : String(err) }));
  });
}
