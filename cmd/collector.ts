import { rmSync } from "node:fs";
import { hostname } from "node:os";
import type { Server } from "node:net";
import { parseFlags, stringWithDefault } from "../src/cli/command-line.js";
import { FLAGS } from "./collector-flags.js";
import { runServer } from "./server-main.js";
import { hostPort } from "../src/cli/host-port.js";
import { positiveNumber } from "../src/cli/rate.js";
import { parseClusterZones } from "../src/domain.js";
import { parseDuration } from "../src/duration.js";
import { parseDnsService, parseNodeLocalDns } from "../src/cli/dns-servers.js";
import { Collector } from "../collector/collector.js";
import { DEFAULT_LIMITS } from "../src/collector/egress-state.js";
import { createDnstapServer } from "../collector/dnstap-server.js";
import { createCollectorHttp, createSnifferHttp } from "../collector/http.js";
import { log } from "../server/log.js";
import { SharedConnectionsKubeConfig } from "../kube/kubeconfig.js";

/**
 * The collector's entry point. In a cluster it takes its defaults; outside (development,
 * tests):
 *   node dist/cmd/collector.js --kubeconfig K --dnstap-listen 127.0.0.1:6000 --listen 127.0.0.1:8080
 */

function listen(server: Server, where: { host?: string; port: number } | string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    const done = () => {
      server.off("error", reject);
      resolve();
    };
    if (typeof where === "string") server.listen(where, done);
    else server.listen(where.port, where.host, done);
  });
}

export async function main(argv: readonly string[]): Promise<number> {
  const { flags } = parseFlags(argv, FLAGS, "collector", {
    description:
      "The otter egress collector: hears CoreDNS's dnstap (and, optionally, Otterize's sniffer reports), names the workload behind each lookup, and writes what each workload called as its ObservedEgress.",
    usage: "node dist/cmd/collector.js [flags]",
  });
  const str = (n: string) => flags.get(n) as string | undefined;
  const value = (n: string) => stringWithDefault(flags, n);
  const dnstapAt = hostPort(value("dnstap-listen"), "--dnstap-listen");
  const httpAt = hostPort(value("listen"), "--listen");
  const snifferFlag = str("sniffer-listen");
  const snifferAt = snifferFlag ? hostPort(snifferFlag, "--sniffer-listen") : undefined;
  const socketPath = str("dnstap-socket");
  const flushIntervalMs = parseDuration(value("flush-interval"), "--flush-interval");
  const apiRate = {
    perSecond: positiveNumber(value("api-qps"), "--api-qps"),
    burst: positiveNumber(value("api-burst"), "--api-burst"),
  };
  const granularityMs = parseDuration(value("last-seen-granularity"), "--last-seen-granularity");
  const leaseIntervalMs = parseDuration(value("lease-interval"), "--lease-interval");
  const windowMs = parseDuration(value("window"), "--window");
  const gcIntervalMs = parseDuration(value("gc-interval"), "--gc-interval");
  const coverageIntervalMs = parseDuration(value("coverage-interval"), "--coverage-interval");
  const dnsService = parseDnsService(value("dns-service"));
  const nodeLocalDns = parseNodeLocalDns(value("node-local-dns"));
  const clusterDomains = parseClusterZones(flags.get("cluster-domain") as string[]);

  const kc = new SharedConnectionsKubeConfig();
  if (str("kubeconfig")) kc.loadFromFile(str("kubeconfig") as string);
  else kc.loadFromDefault();

  const collector = new Collector({
    kc,
    clusterDomains,
    namespace: value("namespace"),
    identity: str("identity") ?? process.env.POD_NAME ?? hostname(),
    flushIntervalMs,
    apiRate,
    limits: { ...DEFAULT_LIMITS, granularityMs },
    leaseIntervalMs,
    windowMs,
    gcIntervalMs,
    coverageIntervalMs,
    dnsService,
    ...(nodeLocalDns ? { nodeLocalDns } : {}),
    // What has a dnstap session to this replica now (a unix socket's writer has no address).
    sessionPeers: () => tcp.peers(),
    log,
  });
  let accepting = false;
  const http = createCollectorHttp({
    // Ready once dnstap is accepted, before the informers sync: the Service sends CoreDNS here
    // at once, and answers that come first are held until the pods are known.
    isReady: () => accepting,
    registry: collector.metrics.registry,
  });
  const dnstapServer = () =>
    createDnstapServer({
      onFrame: (buf, start, end) => collector.handleFrame(buf, start, end),
      onConnectionError: (error, peer) => {
        collector.metrics.inc(
          "otter_egress_collector_decode_errors_total",
          'stage="frame-streams"',
        );
        log({ level: "warn", msg: "dnstap connection closed", peer, error: error.message });
      },
      onConnection: (peer, open) =>
        log({ level: "info", msg: open ? "dnstap connected" : "dnstap disconnected", peer }),
    });
  const tcp = dnstapServer();
  const unix = socketPath ? dnstapServer() : undefined;

  await listen(http, httpAt);
  log({ level: "info", msg: "listening", http: httpAt });
  const sniffer = snifferAt
    ? createSnifferHttp({ query: (body) => collector.handleSniffer(body) })
    : undefined;
  if (sniffer && snifferAt) {
    await listen(sniffer, snifferAt);
    log({ level: "info", msg: "accepting sniffer reports", sniffer: snifferAt });
  }
  // dnstap is accepted at once: answers that come before the informers have synced are held
  // and attributed once they have (a restart opens no blind window).
  await listen(tcp.server, dnstapAt);
  accepting = true;
  if (unix && socketPath) {
    rmSync(socketPath, { force: true });
    await listen(unix.server, socketPath);
  }
  log({
    level: "info",
    msg: "accepting dnstap",
    tcp: dnstapAt,
    ...(socketPath ? { socket: socketPath } : {}),
  });
  await collector.start();
  log({ level: "info", msg: "informers synced" });

  await new Promise<void>((resolve) => {
    const stop = () => {
      log({ level: "info", msg: "shutting down: flushing what was observed" });
      resolve();
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
  await Promise.all([tcp.close(), unix?.close()]);
  await collector.stop();
  http.close();
  http.closeAllConnections();
  sniffer?.close();
  sniffer?.closeAllConnections();
  log({ level: "info", msg: "stopped" });
  return 0;
}

runServer(main);
