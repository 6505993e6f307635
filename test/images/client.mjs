// The test workloads' program (image otter-egress.test/client, built by scripts/images.mjs
// --test). It does what an application does on the network, and nothing else:
//
//   client.mjs listen PORT...                      accept TCP connections on each port
//   client.mjs call [--every 5s] [--stagger 1s] HOST:PORT...
//                                                  resolve each name through the pod's resolver
//                                                  (search path included) and open a TCP
//                                                  connection to it, every --every (default
//                                                  once, then sleep); --stagger: one target at a
//                                                  time, that long apart (default all at once)
//
// One JSON line per attempt on stdout: {"target","addresses","connected","error"}.
import * as dns from "node:dns/promises";
import * as net from "node:net";

const [mode, ...rest] = process.argv.slice(2);
const line = (obj) =>
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...obj })}\n`);

function parseDuration(text) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text);
  if (!m) throw new Error(`bad duration ${text}`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[m[2]];
}

function connect(address, port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port, timeout: 2000 });
    const done = (error) => {
      socket.destroy();
      resolve(error);
    };
    socket.once("connect", () => done(undefined));
    socket.once("timeout", () => done("timeout"));
    socket.once("error", (err) => done(err.code ?? err.message));
  });
}

async function call(target) {
  const i = target.lastIndexOf(":");
  const host = target.slice(0, i);
  const port = Number(target.slice(i + 1));
  try {
    const addresses = (await dns.lookup(host, { all: true })).map((a) => a.address);
    const error = await connect(addresses[0], port);
    line({ target, addresses, connected: error === undefined, ...(error ? { error } : {}) });
  } catch (err) {
    line({ target, addresses: [], connected: false, error: err.code ?? err.message });
  }
}

async function main() {
  if (mode === "listen") {
    for (const port of rest.map(Number)) {
      net.createServer((s) => s.end()).listen(port, () => line({ listening: port }));
    }
    return;
  }
  if (mode === "call") {
    let every = 0;
    let stagger = -1;
    const targets = [];
    for (let i = 0; i < rest.length; i++) {
      if (rest[i] === "--every") every = parseDuration(rest[++i] ?? "");
      else if (rest[i] === "--stagger") stagger = parseDuration(rest[++i] ?? "");
      else targets.push(rest[i]);
    }
    for (;;) {
      if (stagger < 0) await Promise.all(targets.map(call));
      else {
        for (const target of targets) {
          await call(target);
          await new Promise((r) => setTimeout(r, stagger));
        }
      }
      if (every === 0) break;
      await new Promise((r) => setTimeout(r, every));
    }
    // Stay up as a long-running workload would (a Deployment's pod must not exit).
    setInterval(() => undefined, 1 << 30);
    return;
  }
  process.stderr.write("usage: client.mjs listen PORT... | call [--every DURATION] HOST:PORT...\n");
  process.exit(2);
}

process.on("SIGTERM", () => process.exit(0));
await main();
