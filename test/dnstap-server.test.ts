import { mkdtempSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "ava";
import fc from "fast-check";
import { createDnstapServer } from "../collector/dnstap-server.js";
import {
  CONTROL,
  DNSTAP_CONTENT_TYPE,
  encodeControl,
  encodeData,
} from "../src/collector/frame-streams.js";

/**
 * The Frame Streams server with real sockets: many writers at once over TCP and a unix
 * socket, the bidirectional handshake, and a bad writer that is cut off alone.
 */

async function server() {
  const frames: string[] = [];
  const errors: string[] = [];
  const s = createDnstapServer({
    onFrame: (b, s, e) => frames.push(b.toString("utf8", s, e)),
    onConnectionError: (e) => errors.push(e.message),
  });
  const socket = join(mkdtempSync(join(tmpdir(), "otter-dnstap-")), "dnstap.sock");
  await new Promise<void>((r) => s.server.listen(socket, r));
  return { s, socket, frames, errors };
}

/** A writer that does the handshake; resolves with what the server sent back. */
function writer(path: string | { port: number; host: string }) {
  const socket: Socket = typeof path === "string" ? connect(path) : connect(path);
  const received: Buffer[] = [];
  socket.on("data", (d: Buffer) => received.push(d));
  const closed = new Promise<void>((r) => socket.on("close", () => r()));
  socket.on("error", () => undefined);
  return { socket, received: () => Buffer.concat(received), closed };
}

const tick = () => new Promise((r) => setTimeout(r, 20));

test.serial(
  "writers at once: each gets ACCEPT and FINISH, a bad one is cut off alone",
  async (t) => {
    const { s, socket, frames, errors } = await server();
    t.teardown(() => s.close());
    const good = [writer(socket), writer(socket)];
    const bad = writer(socket);
    for (const w of [...good, bad]) {
      w.socket.write(encodeControl(CONTROL.READY, [DNSTAP_CONTENT_TYPE]));
    }
    // Each gets its ACCEPT (waited for: a fixed pause was too short on a loaded machine).
    const accept = encodeControl(CONTROL.ACCEPT, [DNSTAP_CONTENT_TYPE]);
    for (
      let waited = 0;
      waited < 5000 && good.some((w) => w.received().length < accept.length);
      waited += 20
    )
      await tick();
    for (const w of good) t.deepEqual(w.received(), accept);
    for (const w of good) w.socket.write(encodeControl(CONTROL.START, [DNSTAP_CONTENT_TYPE]));
    bad.socket.write(encodeControl(CONTROL.START, [DNSTAP_CONTENT_TYPE]));
    for (let i = 0; i < 50; i++) {
      good.forEach((w, n) => w.socket.write(encodeData(Buffer.from(`w${n}-${i}`))));
      if (i === 10) bad.socket.write(encodeControl(CONTROL.READY, ["x"])); // READY again: a violation
    }
    await bad.closed;
    for (const w of good) w.socket.write(encodeControl(CONTROL.STOP));
    await Promise.all(good.map((w) => w.closed));
    for (const w of good) {
      t.deepEqual(
        w.received(),
        Buffer.concat([
          encodeControl(CONTROL.ACCEPT, [DNSTAP_CONTENT_TYPE]),
          encodeControl(CONTROL.FINISH),
        ]),
      );
    }
    for (const n of [0, 1]) {
      t.deepEqual(
        frames.filter((f) => f.startsWith(`w${n}-`)),
        Array.from({ length: 50 }, (_, i) => `w${n}-${i}`),
      );
    }
    t.deepEqual(errors, ["unexpected READY frame (session started)"]);
    for (let i = 0; i < 100 && s.connections() > 0; i++) await tick();
    t.is(s.connections(), 0, "every session was closed on the server's side too");
    await s.close();
  },
);

test("fuzz: random bytes from many writers never take the server down", async (t) => {
  const { s, socket, frames } = await server();
  t.teardown(() => s.close());
  const samples = fc.sample(fc.uint8Array({ minLength: 1, maxLength: 300 }), 200);
  for (let i = 0; i < samples.length; i += 20) {
    const batch = samples.slice(i, i + 20).map((bytes) => {
      const w = writer(socket);
      w.socket.end(Buffer.from(bytes));
      return w.closed;
    });
    await Promise.all(batch);
  }
  // After all that, a well-behaved writer still gets through.
  const w = writer(socket);
  w.socket.write(
    Buffer.concat([
      encodeControl(CONTROL.START, [DNSTAP_CONTENT_TYPE]),
      encodeData(Buffer.from("after-the-fuzz")),
      encodeControl(CONTROL.STOP),
    ]),
  );
  await w.closed;
  t.true(frames.includes("after-the-fuzz"));
});

test.serial(
  "on shutdown a session is reset, so a writer that never reads (CoreDNS) notices at once and dials again",
  async (t) => {
    const frames: string[] = [];
    const s = createDnstapServer({
      onFrame: (b, start, end) => frames.push(b.toString("utf8", start, end)),
      onConnectionError: () => undefined,
    });
    await new Promise<void>((r) => s.server.listen(0, "127.0.0.1", r));
    const { port } = s.server.address() as { port: number };
    const w = writer({ port, host: "127.0.0.1" });
    let error = "";
    w.socket.on("error", (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    let ended = false;
    w.socket.on("end", () => (ended = true));
    w.socket.write(encodeControl(CONTROL.READY, [DNSTAP_CONTENT_TYPE]));
    await tick();
    w.socket.write(encodeControl(CONTROL.START, [DNSTAP_CONTENT_TYPE]));
    w.socket.write(encodeData(Buffer.from("before")));
    await tick();
    const closing = s.close();
    // What is already in flight while the server stops is still read.
    w.socket.write(encodeData(Buffer.from("in flight")));
    await closing;
    await w.closed;
    t.deepEqual(frames, ["before", "in flight"]);
    // A FIN alone is never seen by a writer that does not read: CoreDNS would keep writing into
    // a connection to a pod that is gone. A reset fails its next write.
    t.is(error, "ECONNRESET");
    t.false(ended, "no orderly end that a writer could miss");
  },
);
