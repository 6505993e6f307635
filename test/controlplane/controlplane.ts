// A real, local Kubernetes control plane (etcd + kube-apiserver) for the
// integration tests. The binaries come from scripts/controlplane-build.sh,
// which links them into <repo>/.cache/bin.
//
// Nothing here runs pods: there is no scheduler, controller-manager or kubelet.
// It is an API server with RBAC, service-account tokens and CRDs, which is what
// a kubectl plugin talks to.

import { execFile, spawn, spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as https from "node:https";
import * as http from "node:http";
import * as net from "node:net";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

export interface ControlPlane {
  /** Path of a kubeconfig for the admin user (current context, namespace default). */
  kubeconfig: string;
  /** https://127.0.0.1:<port> */
  server: string;
  /** Bearer token of the admin user (group system:masters). */
  token: string;
  /** The directory holding data, logs, certs and the kubeconfig. */
  dir: string;
  /** Kills etcd and kube-apiserver (SIGTERM, then SIGKILL after 5 s) and removes `dir`. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Working directory: etcd data, logs, certs, pids, kubeconfig. Created if absent. */
  dir: string;
  /** CRD manifests to apply (server-side) and wait for until Established. */
  crds: string[];
  /**
   * Keep etcd and kube-apiserver running after this Node process exits
   * (`npm run cluster:up`). Default false: they are killed when Node exits,
   * even when it is killed with SIGKILL.
   */
  detached?: boolean;
  /** Overall start timeout in ms (default 120 000). */
  timeoutMs?: number;
  /** Where kube-apiserver, etcd and kubectl are (default <repo>/.cache/bin). */
  binDir?: string;
}

export const ADMIN_USER = "otter-admin";
const SERVICE_CIDR = "10.96.0.0/12";
const SERVICE_IP = "10.96.0.1";
const KILL_GRACE_MS = 5000;
const LOG_TAIL_LINES = 20;

/** The repository root: $OTTER_REPO_ROOT, or the nearest package.json named kubectl-otter. */
export function findRepoRoot(): string {
  const fromEnv = process.env["OTTER_REPO_ROOT"];
  if (fromEnv) return path.resolve(fromEnv);
  const starts = [process.cwd(), path.dirname(fileURLToPath(import.meta.url))];
  for (const start of starts) {
    let dir = path.resolve(start);
    for (;;) {
      const pkg = path.join(dir, "package.json");
      try {
        const parsed = JSON.parse(fs.readFileSync(pkg, "utf8")) as { name?: unknown };
        if (parsed.name === "kubectl-otter") return dir;
      } catch {
        // no (readable) package.json here
      }
      const parent = path.dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  throw new Error(
    "cannot find the repository root (package.json named kubectl-otter): set OTTER_REPO_ROOT",
  );
}

export function defaultBinDir(): string {
  return path.join(findRepoRoot(), ".cache", "bin");
}

/** The binary `name` in binDir, or a one-line error telling how to build it. */
export function requireBinary(binDir: string, name: string): string {
  const p = path.join(binDir, name);
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return p;
  } catch {
    throw new Error(
      `${name} not found in .cache/bin: run scripts/controlplane-build.sh (needs Go >= 1.25)`,
    );
  }
}

// ---------------------------------------------------------------------------
// processes

export interface PidEntry {
  pid: number;
  name: string;
}

function pidsFile(dir: string): string {
  return path.join(dir, "pids");
}

/** Entries of <dir>/pids ("<pid> <name>" per line). */
export function readPids(dir: string): PidEntry[] {
  let text: string;
  try {
    text = fs.readFileSync(pidsFile(dir), "utf8");
  } catch {
    return [];
  }
  const out: PidEntry[] = [];
  for (const line of text.split("\n")) {
    const [pid, name] = line.trim().split(/\s+/);
    const n = Number(pid);
    if (Number.isInteger(n) && n > 0) out.push({ pid: n, name: name ?? "?" });
  }
  return out;
}

export function appendPid(dir: string, entry: PidEntry): void {
  fs.appendFileSync(pidsFile(dir), `${entry.pid} ${entry.name}\n`);
}

/** Alive and not a zombie (a zombie has exited; it only awaits its parent). */
export function isAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    if (fs.existsSync("/proc/self/stat")) return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}

/** True when `pid` is still one of ours: its command line mentions `dir`. */
function belongsTo(pid: number, dir: string): boolean {
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return cmdline.includes(dir);
  } catch {
    return !fs.existsSync("/proc/self/stat") && isAlive(pid);
  }
}

export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** SIGTERM, then SIGKILL whatever is left after graceMs. */
export async function killAll(pids: number[], graceMs = KILL_GRACE_MS): Promise<void> {
  const live = pids.filter(isAlive);
  for (const pid of live) signal(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (live.some(isAlive) && Date.now() < deadline) await sleep(50);
  for (const pid of live.filter(isAlive)) signal(pid, "SIGKILL");
  const killDeadline = Date.now() + 2000;
  while (live.some(isAlive) && Date.now() < killDeadline) await sleep(20);
}

/** The processes of <dir>/pids that are still running (and still ours). */
export function runningIn(dir: string): PidEntry[] {
  const abs = path.resolve(dir);
  return readPids(abs).filter((e) => isAlive(e.pid) && belongsTo(e.pid, abs));
}

/**
 * Kills the processes listed in <dir>/pids (only those whose command line
 * still names `dir`) and removes `dir`. Used by `npm run cluster:down` and for
 * leftovers of a crashed run. Returns the entries it found alive.
 */
export async function stopDir(dir: string, opts: { remove?: boolean } = {}): Promise<PidEntry[]> {
  const abs = path.resolve(dir);
  const ours = runningIn(abs);
  // kube-apiserver first, then etcd
  await killAll(ours.filter((e) => e.name !== "etcd").map((e) => e.pid));
  await killAll(ours.filter((e) => e.name === "etcd").map((e) => e.pid));
  if (opts.remove !== false) fs.rmSync(abs, { recursive: true, force: true });
  return ours;
}

/**
 * A watchdog that outlives nothing: `sh` blocked reading a pipe from this
 * process. When Node exits for any reason (even SIGKILL) the pipe closes and
 * the watchdog kills the control plane listed in <dir>/pids and removes the
 * etcd data (logs stay for post-mortems).
 */
const WATCHDOG = `
dir=$1
cat >/dev/null 2>&1
[ -f "$dir/pids" ] || exit 0
mine() { tr '\\000' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$dir"; }
live=""
while read -r pid name; do
  if mine "$pid"; then kill -TERM "$pid" 2>/dev/null && live="$live $pid"; fi
done <"$dir/pids"
i=0
while [ $i -lt 50 ]; do
  left=""
  for pid in $live; do kill -0 "$pid" 2>/dev/null && mine "$pid" && left="$left $pid"; done
  [ -z "$left" ] && break
  sleep 0.1
  i=$((i + 1))
done
for pid in $live; do mine "$pid" && kill -KILL "$pid" 2>/dev/null; done
rm -rf "$dir/etcd"
exit 0
`;

export interface Proc {
  name: string;
  pid: number;
  log: string;
  child: ChildProcess;
  exited: () => string | undefined;
}

/**
 * Starts `bin args` with its output in <dir>/<name>.log and records it in <dir>/pids. `prefix`
 * runs it through another command that execs it (nsenter into the node's network namespace).
 */
export function launch(
  dir: string,
  name: string,
  bin: string,
  args: string[],
  detached: boolean,
  prefix: string[] = [],
): Proc {
  const log = path.join(dir, `${name}.log`);
  const fd = fs.openSync(log, "a");
  let child: ChildProcess;
  try {
    const [cmd, ...rest] = [...prefix, bin, ...args] as [string, ...string[]];
    child = spawn(cmd, rest, {
      cwd: dir,
      stdio: ["ignore", fd, fd],
      detached,
      env: { ...process.env, GOTRACEBACK: "all" },
    });
  } finally {
    fs.closeSync(fd);
  }
  let exit: string | undefined;
  child.on("exit", (code, sig) => {
    exit = sig ? `killed by ${sig}` : `exited with code ${String(code)}`;
  });
  child.on("error", (err) => {
    exit = `failed: ${err.message}`;
  });
  if (child.pid === undefined) throw new Error(`cannot start ${bin}`);
  child.unref();
  const proc: Proc = { name, pid: child.pid, log, child, exited: () => exit };
  appendPid(dir, { pid: proc.pid, name });
  return proc;
}

export function tail(file: string, n = LOG_TAIL_LINES): string {
  try {
    const lines = fs.readFileSync(file, "utf8").trimEnd().split("\n");
    return lines.slice(-n).join("\n");
  } catch {
    return "(no log)";
  }
}

function startError(proc: Proc, what: string): Error {
  return new Error(`${what}; last ${LOG_TAIL_LINES} lines of ${proc.log}:\n${tail(proc.log)}`);
}

// ---------------------------------------------------------------------------
// network helpers

/** Distinct free loopback ports (held open together so they differ). */
export async function freePorts(n: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < n; i++) {
      const srv = net.createServer();
      servers.push(srv);
      await new Promise<void>((resolve, reject) => {
        srv.once("error", reject);
        srv.listen(0, "127.0.0.1", () => resolve());
      });
      ports.push((srv.address() as net.AddressInfo).port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}

export interface Reply {
  status: number;
  body: string;
}

export function request(
  url: string,
  opts: { token?: string; ca?: string; method?: string; body?: string; timeoutMs?: number } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const headers: Record<string, string> = { Accept: "application/json" };
    if (opts.token) headers["Authorization"] = `Bearer ${opts.token}`;
    if (opts.body !== undefined) headers["Content-Type"] = "application/json";
    const common = { method: opts.method ?? "GET", headers, timeout: opts.timeoutMs ?? 5000 };
    const onRes = (res: http.IncomingMessage): void => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    };
    const req =
      u.protocol === "https:"
        ? https.request(
            u,
            opts.ca ? { ...common, ca: opts.ca } : { ...common, rejectUnauthorized: false },
            onRes,
          )
        : http.request(u, common, onRes);
    req.on("timeout", () => req.destroy(new Error(`timeout: ${url}`)));
    req.on("error", reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

export async function waitFor(
  proc: Proc,
  what: string,
  deadline: number,
  probe: () => Promise<boolean>,
): Promise<void> {
  let last = "";
  for (;;) {
    const exit = proc.exited();
    if (exit !== undefined) throw startError(proc, `${proc.name} ${exit} before ${what}`);
    try {
      if (await probe()) return;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) {
      throw startError(proc, `timed out waiting for ${what}${last ? ` (${last})` : ""}`);
    }
    await sleep(250);
  }
}

// ---------------------------------------------------------------------------
// certificates and keys

interface Pki {
  caFile?: string;
  caPem?: string;
  certFile?: string;
  keyFile?: string;
  saKeyFile: string;
  saPubFile: string;
}

function hasOpenssl(): boolean {
  const r = spawnSync("openssl", ["version"], { stdio: "ignore" });
  return r.status === 0;
}

export function openssl(cwd: string, command: string): void {
  const r = spawnSync("openssl", command.split(/\s+/), { cwd, encoding: "utf8" });
  if (r.status !== 0) {
    throw new Error(`openssl ${command} failed: ${r.stderr || r.error?.message || ""}`);
  }
}

function makePki(certDir: string): Pki {
  fs.mkdirSync(certDir, { recursive: true, mode: 0o700 });
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const saKeyFile = path.join(certDir, "sa.key");
  const saPubFile = path.join(certDir, "sa.pub");
  fs.writeFileSync(saKeyFile, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  fs.writeFileSync(saPubFile, publicKey.export({ type: "spki", format: "pem" }));
  if (!hasOpenssl()) {
    // kube-apiserver self-signs a serving cert into --cert-dir; clients skip verification.
    return { saKeyFile, saPubFile };
  }
  // Arguments hold no spaces, so plain strings split on whitespace read best.
  const ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  openssl(
    certDir,
    `req -x509 ${ec} -keyout ca.key -out ca.crt -days 3650 -subj /CN=otter-egress-test-ca` +
      " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign",
  );
  openssl(
    certDir,
    `req -new ${ec} -keyout apiserver.key -out apiserver.csr -subj /CN=kube-apiserver`,
  );
  const sans = [
    "IP:127.0.0.1",
    `IP:${SERVICE_IP}`,
    "DNS:localhost",
    "DNS:kubernetes",
    "DNS:kubernetes.default",
    "DNS:kubernetes.default.svc",
    "DNS:kubernetes.default.svc.cluster.local",
  ];
  fs.writeFileSync(
    path.join(certDir, "apiserver.ext"),
    [
      `subjectAltName=${sans.join(",")}`,
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth",
      "",
    ].join("\n"),
  );
  openssl(
    certDir,
    "x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out apiserver.crt" +
      " -days 3650 -extfile apiserver.ext",
  );
  const caFile = path.join(certDir, "ca.crt");
  return {
    caFile,
    caPem: fs.readFileSync(caFile, "utf8"),
    certFile: path.join(certDir, "apiserver.crt"),
    keyFile: path.join(certDir, "apiserver.key"),
    saKeyFile,
    saPubFile,
  };
}

export function kubeconfigYaml(
  server: string,
  token: string,
  caPem: string | undefined,
  user = ADMIN_USER,
): string {
  const trust = caPem
    ? `certificate-authority-data: ${Buffer.from(caPem).toString("base64")}`
    : "insecure-skip-tls-verify: true";
  return `apiVersion: v1
kind: Config
clusters:
  - name: otter-local
    cluster:
      server: ${server}
      ${trust}
users:
  - name: ${user}
    user:
      token: ${token}
contexts:
  - name: otter-local
    context:
      cluster: otter-local
      user: ${user}
      namespace: default
current-context: otter-local
`;
}

// ---------------------------------------------------------------------------
// kubectl

/** Runs `bin args` (feeding `input` on stdin when given); resolves with stdout. */
export function run(
  bin: string,
  args: string[],
  timeoutMs: number,
  input?: string,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      bin,
      args,
      { timeout: timeoutMs, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        if (err) {
          reject(
            new Error(`${path.basename(bin)} ${args.join(" ")} failed: ${stderr || err.message}`),
          );
        } else {
          resolve(stdout);
        }
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

/**
 * `kubectl apply --server-side` the CRD manifests, then waits until they are
 * Established.
 */
export async function applyCrds(
  kubeconfig: string,
  crds: string[],
  opts: { binDir?: string; timeoutMs?: number } = {},
): Promise<void> {
  if (crds.length === 0) return;
  const kubectl = requireBinary(opts.binDir ?? defaultBinDir(), "kubectl");
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  const left = (): number => Math.max(5000, deadline - Date.now());
  const fArgs = crds.flatMap((f) => ["-f", path.resolve(f)]);
  const base = ["--kubeconfig", kubeconfig];
  await run(kubectl, [...base, "apply", "--server-side", "--force-conflicts", ...fArgs], left());
  const waitS = Math.ceil(left() / 1000);
  await run(
    kubectl,
    [...base, "wait", "--for", "condition=established", `--timeout=${waitS}s`, ...fArgs],
    left() + 5000,
  );
}

// ---------------------------------------------------------------------------

/** Starts etcd and kube-apiserver in `opts.dir`; see StartOptions. */
export async function startControlPlane(opts: StartOptions): Promise<ControlPlane> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts);
    } catch (err) {
      // Another process may grab a port between picking and binding it.
      const msg = err instanceof Error ? err.message : String(err);
      if (attempt >= 3 || !/address already in use/i.test(msg)) throw err;
    }
  }
}

async function startOnce(opts: StartOptions): Promise<ControlPlane> {
  const detached = opts.detached ?? false;
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const deadline = Date.now() + timeoutMs;
  const binDir = opts.binDir ?? defaultBinDir();
  const apiserverBin = requireBinary(binDir, "kube-apiserver");
  const etcdBin = requireBinary(binDir, "etcd");
  requireBinary(binDir, "kubectl");

  const dir = path.resolve(opts.dir);
  fs.mkdirSync(dir, { recursive: true });
  const running = runningIn(dir);
  if (running.length > 0) {
    throw new Error(
      `a control plane is already running in ${dir} (pids ${running.map((e) => e.pid).join(", ")})`,
    );
  }
  for (const stale of ["pids", "etcd", "etcd.log", "kube-apiserver.log", "certs"]) {
    fs.rmSync(path.join(dir, stale), { recursive: true, force: true });
  }

  const procs: Proc[] = [];
  let watchdog: ChildProcess | undefined;
  const onExit = (): void => {
    // Synchronous: the event loop is gone.
    for (const p of procs) if (isAlive(p.pid)) signal(p.pid, "SIGKILL");
    fs.rmSync(path.join(dir, "etcd"), { recursive: true, force: true });
  };
  if (!detached) {
    process.on("exit", onExit);
    watchdog = spawn("sh", ["-c", WATCHDOG, "otter-controlplane-watchdog", dir], {
      stdio: ["pipe", "ignore", "ignore"],
      detached: true, // own process group: a Ctrl-C to the test run must not kill it first
    });
    watchdog.on("error", () => undefined);
    watchdog.stdin?.on("error", () => undefined);
    watchdog.unref();
    (watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  }

  const killProcs = async (): Promise<void> => {
    const apiserver = procs.filter((p) => p.name === "kube-apiserver").map((p) => p.pid);
    const etcd = procs.filter((p) => p.name === "etcd").map((p) => p.pid);
    await killAll(apiserver);
    await killAll(etcd);
    if (!detached) process.removeListener("exit", onExit);
    fs.rmSync(path.join(dir, "pids"), { force: true });
    watchdog?.stdin?.destroy(); // EOF: it finds nothing left to kill and exits
  };
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await killProcs();
    fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    const [etcdClient, etcdPeer, securePort] = (await freePorts(3)) as [number, number, number];

    // --- etcd
    const clientUrl = `http://127.0.0.1:${etcdClient}`;
    const peerUrl = `http://127.0.0.1:${etcdPeer}`;
    const etcd = launch(
      dir,
      "etcd",
      etcdBin,
      [
        "--name=otter",
        `--data-dir=${path.join(dir, "etcd")}`,
        `--listen-client-urls=${clientUrl}`,
        `--advertise-client-urls=${clientUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=otter=${peerUrl}`,
        "--initial-cluster-state=new",
        "--unsafe-no-fsync", // test data: durability is not needed
        "--log-level=warn",
      ],
      detached,
    );
    procs.push(etcd);
    await waitFor(etcd, `etcd on ${clientUrl}`, deadline, async () => {
      const r = await request(`${clientUrl}/health`, { timeoutMs: 2000 });
      return r.status === 200 && r.body.includes('"true"');
    });

    // --- kube-apiserver
    const pki = makePki(path.join(dir, "certs"));
    const token = randomBytes(24).toString("hex");
    const tokenFile = path.join(dir, "certs", "tokens.csv");
    fs.writeFileSync(tokenFile, `${token},${ADMIN_USER},${ADMIN_USER},"system:masters"\n`, {
      mode: 0o600,
    });
    const server = `https://127.0.0.1:${securePort}`;
    // With a CA of our own, client certificates it signs are identities too (as a kubelet's
    // are): a test can rotate a client's certificate.
    const tlsArgs =
      pki.certFile && pki.keyFile
        ? [
            `--tls-cert-file=${pki.certFile}`,
            `--tls-private-key-file=${pki.keyFile}`,
            `--client-ca-file=${pki.caFile}`,
          ]
        : [`--cert-dir=${path.join(dir, "certs")}`];
    const apiserver = launch(
      dir,
      "kube-apiserver",
      apiserverBin,
      [
        `--etcd-servers=${clientUrl}`,
        `--bind-address=127.0.0.1`,
        `--advertise-address=127.0.0.1`,
        `--secure-port=${securePort}`,
        ...tlsArgs,
        "--authorization-mode=RBAC",
        `--token-auth-file=${tokenFile}`,
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        `--service-account-key-file=${pki.saPubFile}`,
        `--service-account-signing-key-file=${pki.saKeyFile}`,
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        // The "kubernetes" Endpoints may not point at loopback: don't reconcile it.
        "--endpoint-reconciler-type=none",
        "--allow-privileged=true",
        "--profiling=false",
        "--v=1",
      ],
      detached,
    );
    procs.push(apiserver);
    await waitFor(apiserver, `kube-apiserver /readyz on ${server}`, deadline, async () => {
      const r = await request(`${server}/readyz`, {
        token,
        ...(pki.caPem ? { ca: pki.caPem } : {}),
        timeoutMs: 5000,
      });
      return r.status === 200;
    });

    const kubeconfig = path.join(dir, "kubeconfig");
    fs.writeFileSync(kubeconfig, kubeconfigYaml(server, token, pki.caPem), { mode: 0o600 });

    // --- namespace default (kube-apiserver creates it shortly after readyz) and its
    // ServiceAccount default (normally made by kube-controller-manager, which is
    // not running; the ServiceAccount admission plugin rejects pods without it).
    const api = apiOf(server, token, pki.caPem);
    await ensure(
      api,
      "/api/v1/namespaces/default",
      "/api/v1/namespaces",
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "default" } },
      3000,
    );
    await ensure(
      api,
      "/api/v1/namespaces/default/serviceaccounts/default",
      "/api/v1/namespaces/default/serviceaccounts",
      { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default" } },
      0,
    );

    await applyCrds(kubeconfig, opts.crds, {
      binDir,
      timeoutMs: Math.max(5000, deadline - Date.now()),
    });

    return { kubeconfig, server, token, dir, stop };
  } catch (err) {
    // Keep the logs for a post-mortem; drop the data.
    await killProcs().catch(() => undefined);
    fs.rmSync(path.join(dir, "etcd"), { recursive: true, force: true });
    throw err;
  }
}

/** A JSON caller of the API server as `ensure` takes it: (path, method, body) → reply. */
export function apiOf(
  server: string,
  token: string,
  caPem: string | undefined,
): (p: string, method?: string, body?: unknown) => Promise<Reply> {
  return (p, method = "GET", body) =>
    request(`${server}${p}`, {
      token,
      method,
      ...(caPem ? { ca: caPem } : {}),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
}

/**
 * GET `getPath` until it exists or `graceMs` passed (something else may be
 * about to create it), then POST `obj` to `postPath`; 409 means it appeared.
 */
export async function ensure(
  api: (p: string, method?: string, body?: unknown) => Promise<Reply>,
  getPath: string,
  postPath: string,
  obj: unknown,
  graceMs: number,
): Promise<void> {
  const until = Date.now() + graceMs;
  for (;;) {
    const r = await api(getPath);
    if (r.status === 200) return;
    if (r.status !== 404) throw new Error(`GET ${getPath}: HTTP ${r.status} ${r.body}`);
    if (Date.now() >= until) break;
    await sleep(200);
  }
  const c = await api(postPath, "POST", obj);
  if (c.status !== 201 && c.status !== 409) {
    throw new Error(`POST ${postPath}: HTTP ${c.status} ${c.body}`);
  }
}
