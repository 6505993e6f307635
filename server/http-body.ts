import type { IncomingMessage, ServerResponse } from "node:http";

/**
 * Reading a request body under a size limit, and sending a whole answer: shared by the
 * webhook's HTTPS server and the collector's HTTP server.
 */

export function send(res: ServerResponse, code: number, body: string, type = "application/json") {
  res.writeHead(code, { "content-type": type, "content-length": Buffer.byteLength(body) });
  res.end(body);
}

export function readBody(req: IncomingMessage, limit: number): Promise<Buffer | "too-large"> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > limit) {
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
