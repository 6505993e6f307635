import { generateKeyPair } from "../webhook/key-pair.js";
import { X509Certificate } from "node:crypto";
import { Agent, request } from "node:https";
import type { AddressInfo } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import test from "ava";
import fc from "fast-check";
import { issueServing, serviceNames, webhookCa } from "../src/tls.js";
import { createWebhookServer, shutdown } from "../webhook/server.js";
import { review as reviewOf } from "./helpers/review.js";
import type { AdmissionAnswer } from "../src/admission/review.js";

/** The webhook's HTTP surface on plain data: probes, bad bodies, limits, readiness. */

const keys = generateKeyPair(2048);
const now = Date.now();
const ca = webhookCa(keys, now);
const serving = issueServing(
  ca,
  keys,
  {
    dnsNames: [...serviceNames("otter-egress-webhook", "otter-egress"), "localhost"],
    ips: ["127.0.0.1"],
  },
  now,
  3_600_000,
);

test("the serving certificate is signed by the CA and names the Service and loopback", (t) => {
  const cert = new X509Certificate(serving.cert);
  const authority = new X509Certificate(ca.cert);
  t.true(cert.verify(authority.publicKey));
  t.true(authority.ca);
  t.false(cert.ca);
  t.is(
    cert.checkHost("otter-egress-webhook.otter-egress.svc"),
    "otter-egress-webhook.otter-egress.svc",
  );
  t.is(
    cert.checkHost("otter-egress-webhook.otter-egress.svc.cluster.local"),
    "otter-egress-webhook.otter-egress.svc.cluster.local",
  );
  t.is(cert.checkIP("127.0.0.1"), "127.0.0.1");
  t.is(cert.checkHost("evil.example.com"), undefined);
});

let ready = true;
/** A decision that throws (a bug in it). */
let broken = false;
/** A decision whose answer the server cannot read (a bug after the decision). */
let malformed = false;
const { server } = createWebhookServer({
  tls: serving,
  failurePolicy: "Fail",
  isReady: () => ready,
  bodyLimit: 64 * 1024,
  decide: () => {
    if (broken) throw new TypeError("Cannot read properties of undefined (reading 'spec')");
    if (malformed) return { allowed: true } as unknown as AdmissionAnswer;
    return ready ? { allowed: true, warnings: [] } : undefined;
  },
});

test.before(() => new Promise<void>((done) => server.listen(0, "127.0.0.1", done)));
test.after.always(() => new Promise<void>((done) => server.close(() => done())));

/** A request to this file's server, or to another (`to`: its port, and an agent to share). */
function call(
  method: string,
  path: string,
  body?: string | Buffer,
  to: { port?: number; agent?: Agent } = {},
): Promise<{ status: number; body: string }> {
  const port = to.port ?? (server.address() as AddressInfo).port;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path,
        method,
        ca: ca.cert,
        headers: { "content-type": "application/json" },
        ...(to.agent ? { agent: to.agent } : {}),
      },
      (res) => {
        let text = "";
        res.on("data", (d: Buffer) => (text += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const review = (uid: string) =>
  JSON.stringify(
    reviewOf({
      uid,
      object: { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "x" } },
    }),
  );

test.serial("probes answer, and a review gets a review back with its uid", async (t) => {
  t.is((await call("GET", "/healthz")).status, 200);
  t.is((await call("GET", "/readyz")).status, 200);
  const r = await call("POST", "/validate", review("abc"));
  t.is(r.status, 200);
  t.deepEqual(JSON.parse(r.body), {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    response: { uid: "abc", allowed: true },
  });
  t.regex(
    (await call("GET", "/metrics")).body,
    /otter_egress_admission_decisions_total\{result="allowed",mode="none",dry_run="false"\} \d+/,
  );
});

test.serial(
  "before the caches sync, readyz fails and reviews follow the failure policy, saying why",
  async (t) => {
    ready = false;
    try {
      t.is((await call("GET", "/readyz")).status, 503);
      const r = JSON.parse((await call("POST", "/validate", review("u2"))).body) as {
        response: { allowed: boolean; status: { message: string } };
      };
      t.false(r.response.allowed);
      t.regex(r.response.status.message, /caches .* have not synced yet \(failurePolicy Fail\)/);
      // The warn entry's path: a namespace that only asked for warnings is never denied.
      const warn = JSON.parse((await call("POST", "/validate/warn", review("u3"))).body) as {
        response: { allowed: boolean; warnings: string[] };
      };
      t.true(warn.response.allowed);
      t.regex(warn.response.warnings[0] ?? "", /allowed unchecked/);
    } finally {
      ready = true;
    }
  },
);

test.serial(
  "a decision that fails is its own answer: an internal error, counted, never the caches' answer",
  async (t) => {
    broken = true;
    try {
      const r = JSON.parse((await call("POST", "/validate", review("u4"))).body) as {
        response: { allowed: boolean; status: { message: string } };
      };
      t.false(r.response.allowed, "denied by failurePolicy Fail");
      t.regex(r.response.status.message, /internal error/);
      t.regex(r.response.status.message, /u4/, "names the review, to find it in the log");
      t.notRegex(r.response.status.message, /caches|synced|RBAC/);
      const warn = JSON.parse((await call("POST", "/validate/warn", review("u5"))).body) as {
        response: { allowed: boolean; warnings: string[] };
      };
      t.true(warn.response.allowed);
      t.regex(warn.response.warnings[0] ?? "", /internal error.*allowed unchecked/);
      t.regex(
        (await call("GET", "/metrics")).body,
        /otter_egress_admission_internal_errors_total 2/,
      );
      // Readiness is not what failed.
      t.is((await call("GET", "/readyz")).status, 200);
    } finally {
      broken = false;
    }
  },
);

test.serial(
  "a bug after the decision answers that review 500 and is counted with the internal errors",
  async (t) => {
    const count = async () =>
      Number(
        /otter_egress_admission_internal_errors_total (\d+)/.exec(
          (await call("GET", "/metrics")).body,
        )?.[1],
      );
    const before = await count();
    malformed = true;
    try {
      const r = await call("POST", "/validate", review("u6"));
      t.is(r.status, 500, "the API server applies its failure policy to a failed call");
      t.regex(r.body, /internal error/);
    } finally {
      malformed = false;
    }
    t.is(await count(), before + 1);
    t.is((await call("POST", "/validate", review("u7"))).status, 200, "and it keeps serving");
  },
);

test.serial("bad bodies get 400 or 413 and the server keeps serving", async (t) => {
  t.is((await call("POST", "/validate", "{not json")).status, 400);
  t.is((await call("POST", "/validate", JSON.stringify({ kind: "Pod" }))).status, 400);
  t.is(
    (
      await call(
        "POST",
        "/validate",
        JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview" }),
      )
    ).status,
    400,
  );
  t.is((await call("POST", "/validate", Buffer.alloc(200 * 1024, "a"))).status, 413);
  t.is((await call("GET", "/nope")).status, 404);
  t.is((await call("POST", "/validate", review("still-alive"))).status, 200);
});

test.serial("property: random and mutated bodies never crash the server", async (t) => {
  const base = review("fuzz");
  const bodies = fc.sample(
    fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc
        .tuple(fc.nat(base.length), fc.string({ maxLength: 5 }))
        .map(([i, s]) => base.slice(0, i) + s + base.slice(i + s.length)),
    ),
    300,
  );
  for (const body of bodies) {
    const r = await call("POST", "/validate", body);
    t.true(r.status === 200 || r.status === 400, `status ${r.status} for ${body.slice(0, 80)}`);
    if (r.status === 200) t.is((JSON.parse(r.body) as { kind: string }).kind, "AdmissionReview");
  }
  t.is((await call("GET", "/healthz")).status, 200);
});

/** A second server, answering "allowed" to every review, on a free loopback port. */
async function allowingServer() {
  const server = createWebhookServer({
    tls: serving,
    failurePolicy: "Fail",
    isReady: () => true,
    decide: () => ({ allowed: true, warnings: [] }),
  }).server;
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return { server, port: (server.address() as AddressInfo).port };
}

test.serial(
  "reviews sent together, over many connections, each get their own decision under their own uid",
  async (t) => {
    // Decided by name: "deny-*" denied, "bug-*" a decision that throws, the rest allowed.
    const other = createWebhookServer({
      tls: serving,
      failurePolicy: "Fail",
      isReady: () => true,
      decide: (req) => {
        if (req.name.startsWith("bug-")) throw new Error("a bug");
        return req.name.startsWith("deny-")
          ? { allowed: false, message: `no: ${req.name}`, warnings: [] }
          : { allowed: true, warnings: [`seen ${req.name}`] };
      },
    }).server;
    await new Promise<void>((done) => other.listen(0, "127.0.0.1", done));
    const port = (other.address() as AddressInfo).port;
    const agent = new Agent({ keepAlive: true, maxSockets: 16, ca: ca.cert });
    type Answer = {
      response: {
        uid: string;
        allowed: boolean;
        status?: { message: string };
        warnings?: string[];
      };
    };
    const post = async (name: string, uid: string) => {
      const body = JSON.stringify(
        reviewOf({
          uid,
          object: { apiVersion: "apps/v1", kind: "Deployment", metadata: { name } },
        }),
      );
      const r = (
        JSON.parse((await call("POST", "/validate", body, { port, agent })).body) as Answer
      ).response;
      return {
        uid: r.uid,
        allowed: r.allowed,
        ...(r.status ? { message: r.status.message } : {}),
        ...(r.warnings ? { warnings: r.warnings } : {}),
      };
    };
    try {
      const names = Array.from(
        { length: 120 },
        (_, i) => `${["ok", "deny", "bug"][i % 3] as string}-${i}`,
      );
      const answers = await Promise.all(names.map((name, i) => post(name, `uid-${i}`)));
      answers.forEach((a, i) => {
        const name = names[i] as string;
        t.is(a.uid, `uid-${i}`);
        if (name.startsWith("ok-")) t.deepEqual([a.allowed, a.warnings], [true, [`seen ${name}`]]);
        else if (name.startsWith("deny-"))
          t.deepEqual([a.allowed, a.message], [false, `no: ${name}`]);
        else {
          t.false(a.allowed);
          t.regex(a.message ?? "", new RegExp(`internal error while deciding review uid-${i} `));
        }
      });
    } finally {
      agent.destroy();
      await shutdown(other);
    }
  },
);

/**
 * A review whose body is sent in two parts: its first bytes now, the rest when `rest` is
 * called. Resolves with the answer's status.
 */
function reviewInTwo(
  port: number,
  uid: string,
): { answered: Promise<number>; connection: Promise<string | undefined>; rest: () => void } {
  const body = review(uid);
  const agent = new Agent({ keepAlive: true });
  let rest = () => undefined as void;
  let told: (v: string | undefined) => void = () => undefined;
  const connection = new Promise<string | undefined>((r) => (told = r));
  const answered = new Promise<number>((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path: "/validate",
        method: "POST",
        ca: ca.cert,
        // Kept alive, as the API server keeps its connections.
        agent,
        headers: { "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        told(res.headers.connection);
        res.resume();
        res.on("end", () => {
          agent.destroy();
          resolve(res.statusCode ?? 0);
        });
      },
    );
    req.on("error", reject);
    req.write(body.slice(0, 10));
    rest = () => req.end(body.slice(10));
  });
  return { answered, connection, rest };
}

test.serial("shutdown lets a review in flight finish", async (t) => {
  const { server: other, port } = await allowingServer();
  const inFlight = reviewInTwo(port, "in-flight");
  await new Promise((r) => setTimeout(r, 200));
  const stopped = shutdown(other);
  setTimeout(inFlight.rest, 200);
  t.is(await inFlight.answered, 200);
  t.is(await inFlight.connection, "close", "in flight when the drain began, and told to close");
  await stopped;
});

/** A TLS connection to the server, its handshake done, nothing sent on it yet. */
async function connected(port: number): Promise<TLSSocket> {
  const socket = tlsConnect({ host: "127.0.0.1", port, ca: ca.cert, servername: "localhost" });
  await new Promise<void>((done) => socket.once("secureConnect", () => done()));
  return socket;
}

/**
 * One kept-alive connection, driven as the API server's client drives it: a review written
 * whole, its answer read, the connection left idle for the next one.
 */
async function keptConnection(port: number) {
  const socket = await connected(port);
  let text = "";
  let ended = "";
  let waiting: (() => void) | undefined;
  socket.on("data", (d: Buffer) => {
    text += d.toString();
    waiting?.();
  });
  const closed = new Promise<void>((done) =>
    socket.once("close", () => {
      ended ||= "closed";
      waiting?.();
      done();
    }),
  );
  socket.on("error", (e) => (ended = e.message));
  /** The next whole answer on the connection, or why there is none. */
  const answer = () =>
    new Promise<{ status: number; headers: string }>((resolve, reject) => {
      const look = () => {
        const head = text.indexOf("\r\n\r\n");
        const length = /content-length: (\d+)/i.exec(text.slice(0, head));
        if (head >= 0 && length && text.length >= head + 4 + Number(length[1])) {
          const headers = text.slice(0, head);
          text = text.slice(head + 4 + Number(length[1]));
          waiting = undefined;
          resolve({ status: Number(headers.split(" ")[1]), headers });
        } else if (ended) reject(new Error(`no answer: the connection ${ended}`));
      };
      waiting = look;
      look();
    });
  return {
    closed,
    review(uid: string) {
      const body = review(uid);
      socket.write(
        `POST /validate HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n` +
          `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      return answer();
    },
  };
}

test.serial(
  "a review sent on an idle connection just as shutdown begins is answered, and the connection is closed after it",
  async (t) => {
    const { server: other, port } = await allowingServer();
    const conn = await keptConnection(port);
    t.is((await conn.review("before")).status, 200);
    // The API server takes this idle connection from its pool as the pod is told to stop: its
    // review is on the wire before it could see the connection end. Ending the connection then
    // fails the call ("write: broken pipe"), which failurePolicy Fail turns into a refused apply.
    const started = Date.now();
    const stopped = shutdown(other, 20_000, 10_000);
    const during = await conn.review("during");
    t.is(during.status, 200);
    t.regex(during.headers, /\r\nconnection: close/i, "the client is told not to reuse it");
    await conn.closed;
    // With no connection left, the drain ends then, not at its 10 s.
    await stopped;
    t.true(Date.now() - started < 3_000, `stopped after ${Date.now() - started} ms`);
  },
);

test.serial(
  "a review still arriving when the drain ends is answered before its connection is closed",
  async (t) => {
    const { server: other, port } = await allowingServer();
    // An idle connection keeps the drain going to its end (300 ms).
    await connected(port);
    const straddling = reviewInTwo(port, "straddling");
    // The rest after the drain's end: the review is in flight then, not idle.
    setTimeout(straddling.rest, 500);
    await new Promise((r) => setTimeout(r, 100));
    const stopped = shutdown(other, 5_000, 300);
    t.is(await straddling.answered, 200);
    await stopped;
  },
);

test.serial(
  "shutdown ends a connection left idle through the drain, even one that never sent a request",
  async (t) => {
    const { server: other, port } = await allowingServer();
    // As the API server does: a connection opened and kept, with nothing sent on it.
    const idle = await connected(port);
    const closed = new Promise<number>((done) => idle.once("close", () => done(Date.now())));
    const started = Date.now();
    await shutdown(other, 5_000, 300);
    const after = (await closed) - started;
    t.true(after >= 290 && after < 2000, `closed after ${after} ms`);
  },
);

test("idle connections outlive the API server's 90 s, and TLS 1.3 can be required", async (t) => {
  t.true(server.keepAliveTimeout > 90_000, "longer than the API server keeps them");
  const strict = createWebhookServer({
    tls: serving,
    minVersion: "TLSv1.3",
    failurePolicy: "Fail",
    isReady: () => true,
    decide: () => ({ allowed: true, warnings: [] }),
  }).server;
  await new Promise<void>((done) => strict.listen(0, "127.0.0.1", done));
  const port = (strict.address() as AddressInfo).port;
  const handshake = (maxVersion: "TLSv1.2" | "TLSv1.3") =>
    new Promise<string>((resolve) => {
      const s = tlsConnect(
        { host: "127.0.0.1", port, rejectUnauthorized: false, maxVersion },
        () => {
          resolve(s.getProtocol() ?? "?");
          s.end();
        },
      );
      s.on("error", (e) => resolve(`refused: ${e.message}`));
    });
  t.is(await handshake("TLSv1.3"), "TLSv1.3");
  t.regex(await handshake("TLSv1.2"), /^refused/);
  await shutdown(strict, 100);
});

test.serial(
  "denials and warnings are logged, allowed reviews only counted; --log-level debug logs them",
  async (t) => {
    const send = (port: number, uid: string) =>
      new Promise<void>((resolve, reject) => {
        const body = review(uid);
        const req = request(
          { host: "127.0.0.1", port, path: "/validate", method: "POST", ca: ca.cert, agent: false },
          (res) => {
            res.resume();
            res.on("end", () => resolve());
          },
        );
        req.on("error", reject);
        req.end(body);
      });
    for (const logAllowed of [false, true]) {
      const lines: Record<string, unknown>[] = [];
      const other = createWebhookServer({
        tls: serving,
        failurePolicy: "Fail",
        isReady: () => true,
        log: (e) => lines.push(e),
        ...(logAllowed ? { logAllowed } : {}),
        decide: (req) =>
          req.uid === "deny"
            ? { allowed: false, message: "no", warnings: [] }
            : { allowed: true, warnings: req.uid === "warn" ? ["careful"] : [] },
      }).server;
      await new Promise<void>((done) => other.listen(0, "127.0.0.1", done));
      const port = (other.address() as AddressInfo).port;
      for (const uid of ["allow", "deny", "warn", "allow"]) await send(port, uid);
      await shutdown(other);
      const logged = lines
        .filter((l) => l.msg === "admission")
        .map((l) => `${String(l.uid)}:${String(l.level)}`);
      t.deepEqual(
        logged,
        logAllowed
          ? ["allow:debug", "deny:info", "warn:info", "allow:debug"]
          : ["deny:info", "warn:info"],
      );
    }
  },
);
