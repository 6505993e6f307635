import { createServer, type Server, type Socket } from "node:net";
import {
  FrameReader,
  FrameStreamError,
  ReceiverSession,
  type ControlFrame,
} from "../src/collector/frame-streams.js";
import { peerAddress } from "../src/ip.js";

/**
 * The Frame Streams server CoreDNS's dnstap plugin connects to, over TCP or a unix socket.
 * Each connection has its own reader and session: a peer that breaks the protocol is logged
 * and disconnected, and nobody else notices.
 */

export interface DnstapServerOptions {
  /** Called with each data frame; the payload is only valid during the call. */
  onFrame(buf: Buffer, start: number, end: number): void;
  onConnectionError(error: Error, peer: string): void;
  onConnection?(peer: string, open: boolean): void;
  maxDataFrame?: number;
}

export interface DnstapServer {
  readonly server: Server;
  readonly connections: () => number;
  /** The addresses of the writers with a dnstap session (past START) over TCP now, each once. */
  readonly peers: () => string[];
  /** Stops accepting; open sessions are ended once they have sent what is in flight. */
  close(): Promise<void>;
}

/** How long a stopping server still reads what its writers had in flight. */
const DRAIN_MS = 300;

function peerOf(socket: Socket): string {
  return socket.remoteAddress
    ? `${peerAddress(socket.remoteAddress)}:${socket.remotePort}`
    : "unix socket";
}

export function createDnstapServer(opts: DnstapServerOptions): DnstapServer {
  const sockets = new Set<Socket>();
  /** Sessions past START: a connection that has not negotiated dnstap is nobody's. */
  const started = new Set<Socket>();
  const server = createServer((socket) => {
    const peer = peerOf(socket);
    sockets.add(socket);
    opts.onConnection?.(peer, true);
    const reader = new FrameReader(opts.maxDataFrame);
    const session = new ReceiverSession();
    let failed = false;
    const fail = (e: Error) => {
      if (failed) return;
      failed = true;
      opts.onConnectionError(e, peer);
      socket.destroy();
    };
    const sink = {
      data: (buf: Buffer, start: number, end: number) => {
        if (!session.dataAllowed()) {
          throw new FrameStreamError(`data frame before START (session ${session.state})`);
        }
        opts.onFrame(buf, start, end);
      },
      control: (frame: ControlFrame) => {
        const reply = session.control(frame);
        if (session.dataAllowed()) started.add(socket);
        else started.delete(socket);
        if (reply.send) socket.write(reply.send);
        if (reply.close) socket.end();
      },
    };
    socket.on("data", (chunk: Buffer) => {
      if (failed) return;
      try {
        reader.push(chunk, sink);
      } catch (e) {
        fail(e instanceof Error ? e : new Error(String(e)));
      }
    });
    socket.on("error", (e: NodeJS.ErrnoException) => {
      // A writer that goes away without STOP (CoreDNS on shutdown) is not a bad connection.
      if (e.code === "ECONNRESET" || e.code === "EPIPE") socket.destroy();
      else fail(e);
    });
    socket.on("close", () => {
      sockets.delete(socket);
      started.delete(socket);
      opts.onConnection?.(peer, false);
    });
  });
  return {
    server,
    connections: () => sockets.size,
    peers: () => [
      ...new Set(
        [...started].flatMap((s) => (s.remoteAddress ? [peerAddress(s.remoteAddress)] : [])),
      ),
    ],
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        // Frames in flight are read for a moment; then each session is reset. A writer that
        // never reads (CoreDNS) would not see a FIN, and would keep writing into a connection
        // to a pod that is gone until TCP gives up, minutes later; a reset fails its next
        // write, and it dials again: another replica, or this collector's successor.
        setTimeout(() => {
          // (A unix socket has no reset: its writer's next write fails once it is closed.)
          for (const s of sockets) {
            if (s.remoteAddress) s.resetAndDestroy();
            else s.destroy();
          }
        }, DRAIN_MS).unref();
      }),
  };
}
