// A real one-node Kubernetes cluster for the tests: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler, kubelet, kube-proxy (all built by scripts/controlplane-build.sh), containerd,
// runc and the CNI plugins (Debian's packages), and CoreDNS as a pod of the kube-dns Service.
//
// Everything runs in a network namespace of its own (NODE.netns): the node's address, the pod
// bridge, kube-proxy's rules and the pods live there, and nothing routes out of it. The host
// reaches the API server through one veth pair (NODE.hostIp <-> NODE.nodeIp); in the namespace,
// packets from the pod or Service ranges to that uplink are dropped and counted
// (uplinkLeaks()). The internet names the tests use are answered by CoreDNS from a zone the
// harness owns, and their addresses sit on a dummy interface in the namespace, so connections
// to them end on this machine (refused).
//
// Host state is restored when the node stops: kubelet's kernel sysctls (recorded before it
// starts, in /run/otter-egress-node/state.json, so a crashed run is cleaned up by the next
// start or by `npm run cluster:down`), the kubepods cgroups, every mount below the node's
// directory, the namespace and the veth pair, and the CNI plugins' cache files.
//
// One node per machine: the namespace, the cgroups and the sysctls are machine-wide.

import { spawn, spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { ControlPlane, Proc } from "./controlplane.js";
import {
  ADMIN_USER,
  apiOf,
  applyCrds,
  defaultBinDir,
  ensure,
  findRepoRoot,
  isAlive,
  killAll,
  kubeconfigYaml,
  launch,
  openssl,
  request,
  requireBinary,
  run,
  sleep,
  tail,
  waitFor,
} from "./controlplane.js";

export const NODE = {
  name: "otter-node",
  netns: "otter-egress-node",
  hostLink: "otter-up0",
  nodeLink: "uplink",
  hostIp: "10.203.0.1",
  nodeIp: "10.203.0.2",
  linkPrefix: 30,
  podCidr: "10.244.0.0/24",
  clusterCidr: "10.244.0.0/16",
  serviceCidr: "10.96.0.0/12",
  apiServiceIp: "10.96.0.1",
  dnsIp: "10.96.0.10",
  clusterDomain: "cluster.local",
  apiPort: 6443,
} as const;

/** The internet names the seed app uses, answered by the cluster DNS from the test zone. */
export const SEED_INTERNET: Readonly<Record<string, readonly string[]>> = {
  "api.openai.com": ["104.18.7.192", "104.18.6.192"],
  "dynamodb.eu-west-2.amazonaws.com": ["52.94.56.47"],
  "sts.eu-west-2.amazonaws.com": ["52.94.15.82"],
};

/** Sysctls kubelet sets on start (pkg/kubelet/cm, setupKernelTunables); restored at stop. */
const KUBELET_SYSCTLS = [
  "vm/overcommit_memory",
  "vm/panic_on_oom",
  "kernel/panic",
  "kernel/panic_on_oops",
  "kernel/keys/root_maxkeys",
  "kernel/keys/root_maxbytes",
];
const STATE_DIR = "/run/otter-egress-node";
const STATE_FILE = path.join(STATE_DIR, "state.json");
const CNI_NETWORK = "otter-egress-pods";
const CNI_CACHE = "/var/lib/cni";
const CONTAINER_LOG_LINKS = "/var/log/containers";
/**
 * What kubelet, containerd and the CNI plugins write outside the directories they are given:
 * kubelet's device-plugin socket, its links to container logs, containerd 1.6's shim sockets
 * and runc state, libcni's cache.
 */
export const HOST_PATHS = [
  "/var/lib/kubelet",
  CONTAINER_LOG_LINKS,
  "/var/log/pods",
  "/run/containerd",
  "/var/lib/containerd",
  "/opt/containerd",
  CNI_CACHE,
  "/etc/cni",
  "/opt/cni",
];
const NETNS_DIR = "/run/netns";
const CGROUP_ROOT = "/sys/fs/cgroup";
const KUBEPODS = "kubepods";
const PAUSE_IMAGE = "registry.k8s.io/pause:3.10.1";

interface HostState {
  dir: string;
  /** The process whose node this is; 0 for a detached node (alive while its processes are). */
  owner: number;
  sysctls: Record<string, string>;
  /** Which of HOST_PATHS existed before the node started (the others are removed at stop). */
  hostPaths: Record<string, boolean>;
  /** Whether /run/netns existed (and was a mount point) before `ip netns add` made it one. */
  netnsDirExisted: boolean;
  netnsDirMounted: boolean;
  startedAt: string;
}

export interface NodeCluster extends ControlPlane {
  nodeName: string;
  /** The images imported into containerd (references). */
  images: string[];
  /** Runs a command in the node's network namespace; returns stdout. */
  inNetns(cmd: string, args: string[], timeoutMs?: number): Promise<string>;
  /** Packets from the pod or Service ranges dropped at the uplink since the node started. */
  uplinkLeaks(): Promise<number>;
  /** Imports OCI archives into the node's containerd (as `kind load image-archive` does). */
  importImages(archives: string[]): Promise<string[]>;
}

export interface NodeOptions {
  /** Working directory: data, logs, certs, kubeconfig, containerd and kubelet state. */
  dir: string;
  /** CRD manifests to apply and wait for. */
  crds: string[];
  /** Keep running after this process exits (`npm run cluster:up -- --node`). Default false. */
  detached?: boolean;
  timeoutMs?: number;
  binDir?: string;
  /** Names CoreDNS answers from the test zone, with their addresses (default SEED_INTERNET). */
  internet?: Readonly<Record<string, readonly string[]>>;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /** Called once the machine's node is ours, before anything on the host changes. */
  onAcquired?: () => void;
}

// ---------------------------------------------------------------------------
// small helpers

function sh(
  cmd: string,
  args: string[],
  opts: { allowFail?: boolean; input?: string } = {},
): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", input: opts.input ?? "", timeout: 60_000 });
  if (r.status !== 0 && !opts.allowFail) {
    throw new Error(
      `${cmd} ${args.join(" ")} failed: ${(r.stderr || r.error?.message || "").trim()}`,
    );
  }
  return r.stdout ?? "";
}

const netnsArgs = (): string[] => ["nsenter", `--net=${NETNS_DIR}/${NODE.netns}`, "--"];

function readSysctl(name: string): string | undefined {
  try {
    return fs.readFileSync(`/proc/sys/${name}`, "utf8").trim();
  } catch {
    return undefined;
  }
}

function writeSysctl(name: string, value: string): void {
  try {
    if (readSysctl(name) !== value) fs.writeFileSync(`/proc/sys/${name}`, value);
  } catch {
    // not writable here: nothing was changed either
  }
}

function readState(): HostState | undefined {
  try {
    return JSON.parse(fs.readFileSync(STATE_FILE, "utf8")) as HostState;
  } catch {
    return undefined;
  }
}

/** Every pid whose command line names `dir` (kubelet, containerd, its shims, ...). */
function pidsNaming(dir: string): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (cmdline.includes(dir)) out.push(pid);
    } catch {
      // gone
    }
  }
  return out;
}

function cmdName(pid: number): string {
  try {
    return path.basename(fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0] ?? "");
  } catch {
    return "";
  }
}

/** The cgroup directories of kubelet's pods, deepest first, in every v1 hierarchy. */
function kubepodsCgroups(): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) walk(path.join(d, e.name));
    out.push(d);
  };
  let hierarchies: string[];
  try {
    hierarchies = fs.readdirSync(CGROUP_ROOT);
  } catch {
    return out;
  }
  for (const h of hierarchies) {
    const top = path.join(CGROUP_ROOT, h, KUBEPODS);
    if (fs.existsSync(top)) walk(top);
  }
  return out;
}

function cgroupPids(dirs: string[]): number[] {
  const pids = new Set<number>();
  for (const d of dirs) {
    try {
      for (const l of fs.readFileSync(path.join(d, "cgroup.procs"), "utf8").split("\n")) {
        const n = Number(l);
        if (Number.isInteger(n) && n > 0) pids.add(n);
      }
    } catch {
      // removed meanwhile
    }
  }
  return [...pids];
}

/** Mount points at or below `dir`, deepest first (from /proc/self/mountinfo). */
function mountsBelow(dir: string): string[] {
  const unescape = (s: string): string =>
    s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  const out: string[] = [];
  for (const line of fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const mp = line.split(" ")[4];
    if (!mp) continue;
    const p = unescape(mp);
    if (p === dir || p.startsWith(`${dir}/`)) out.push(p);
  }
  return out.sort((a, b) => b.length - a.length);
}

// ---------------------------------------------------------------------------
// teardown

/**
 * Stops the node recorded in /run/otter-egress-node/state.json (or the one in `dir`) and
 * restores the host: processes, containers, mounts, namespace and veth, cgroups, CNI cache,
 * sysctls. Safe to call when nothing runs. Returns what it did, one line each.
 */
export async function stopNode(opts: { dir?: string; remove?: boolean } = {}): Promise<string[]> {
  const done: string[] = [];
  const state = readState();
  const dir = path.resolve(opts.dir ?? state?.dir ?? "");
  if (!opts.dir && !state) {
    // Nothing recorded: still remove a namespace or link a killed run left.
    if (fs.existsSync(`${NETNS_DIR}/${NODE.netns}`) || linkExists(NODE.hostLink)) {
      removeNetwork(done);
    }
    return done;
  }

  // Machine-wide state (containers, network, cgroups, sysctls) is only touched for the node the
  // state file names: a late watchdog of a node already stopped must not break the next one.
  const machineWide = !state || state.dir === dir;

  // 1. What restarts containers, then the containers, then the rest.
  const named = pidsNaming(dir);
  const first = named.filter((p) =>
    ["kubelet", "kube-proxy", "kube-scheduler", "kube-controller-manager"].includes(cmdName(p)),
  );
  await killAll(first, 5000);
  if (first.length) done.push(`stopped ${first.length} node components`);
  const containers = machineWide ? cgroupPids(kubepodsCgroups()) : [];
  await killAll(containers, 0);
  if (containers.length) done.push(`killed ${containers.length} container processes`);
  const rest = pidsNaming(dir);
  const shims = rest.filter((p) => cmdName(p).startsWith("containerd-shim"));
  await killAll(shims, 0);
  await killAll(
    rest.filter((p) => cmdName(p) === "containerd"),
    5000,
  );
  await killAll(
    rest.filter((p) => cmdName(p) === "kube-apiserver"),
    5000,
  );
  await killAll(pidsNaming(dir), 5000);
  if (rest.length) done.push(`stopped ${rest.length} control-plane and runtime processes`);

  // 2. Mounts below the node's directory (volumes, rootfs, sandbox namespaces).
  const mounts = mountsBelow(dir);
  for (const mp of mounts) {
    if (spawnSync("umount", [mp]).status !== 0) spawnSync("umount", ["-l", mp]);
  }
  if (mounts.length) done.push(`unmounted ${mounts.length} mounts`);

  if (!machineWide) {
    if (opts.remove !== false) fs.rmSync(dir, { recursive: true, force: true });
    return done;
  }

  // 3. Network: the namespace (bridge, pods' veths, kube-proxy's rules go with it), the uplink.
  removeNetwork(done);

  // 4. cgroups, deepest first; a cgroup empties a moment after its last process died.
  const cgroups = kubepodsCgroups();
  for (let i = 0; i < 50; i++) {
    const left = cgroups.filter((d) => fs.existsSync(d));
    if (left.length === 0) break;
    for (const d of left) {
      try {
        fs.rmdirSync(d);
      } catch {
        // busy: retried
      }
    }
    if (left.some((d) => fs.existsSync(d))) await sleep(100);
  }
  const stuck = cgroups.filter((d) => fs.existsSync(d));
  if (cgroups.length) done.push(`removed ${cgroups.length - stuck.length} cgroups`);
  if (stuck.length) done.push(`could not remove ${stuck.length} cgroups (e.g. ${stuck[0]})`);

  // 5. The CNI plugins' cache of our network (libcni writes it under /var/lib/cni).
  const results = path.join(CNI_CACHE, "results");
  try {
    for (const f of fs.readdirSync(results)) {
      if (f.startsWith(`${CNI_NETWORK}-`)) fs.rmSync(path.join(results, f), { force: true });
    }
  } catch {
    // no cache
  }
  // Paths kubelet and containerd create outside their configured directories; those that were
  // not there before go. In ones that were, only what points into the node's directory does.
  for (const [p, existed] of Object.entries(state?.hostPaths ?? {})) {
    if (!existed) {
      fs.rmSync(p, { recursive: true, force: true });
      continue;
    }
    if (p === CONTAINER_LOG_LINKS) {
      try {
        for (const f of fs.readdirSync(p)) {
          const link = path.join(p, f);
          const to = fs.lstatSync(link).isSymbolicLink() ? fs.readlinkSync(link) : "";
          if (to.startsWith(`${dir}/`)) fs.rmSync(link, { force: true });
        }
      } catch {
        // gone
      }
    }
  }
  const netnsMounts = mountsBelow(NETNS_DIR);
  if (state && !state.netnsDirMounted && netnsMounts.length === 1 && netnsMounts[0] === NETNS_DIR) {
    spawnSync("umount", [NETNS_DIR]);
  }
  if (state && !state.netnsDirExisted) {
    try {
      fs.rmdirSync(NETNS_DIR);
    } catch {
      // not empty: somebody else's namespaces live there now
    }
  }

  // 6. Kernel sysctls kubelet changed.
  if (state) {
    for (const [name, value] of Object.entries(state.sysctls)) writeSysctl(name, value);
    done.push("restored kernel sysctls");
  }
  if (opts.remove !== false && dir !== "/" && fs.existsSync(dir)) {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  fs.rmSync(STATE_DIR, { recursive: true, force: true });
  return done;
}

function linkExists(name: string): boolean {
  return spawnSync("ip", ["link", "show", name], { stdio: "ignore" }).status === 0;
}

function removeNetwork(done: string[]): void {
  if (fs.existsSync(`${NETNS_DIR}/${NODE.netns}`)) {
    sh("ip", ["netns", "delete", NODE.netns], { allowFail: true });
    done.push(`deleted network namespace ${NODE.netns}`);
  }
  if (linkExists(NODE.hostLink)) {
    sh("ip", ["link", "delete", NODE.hostLink], { allowFail: true });
    done.push(`deleted link ${NODE.hostLink}`);
  }
}

// ---------------------------------------------------------------------------
// network

function setUpNetwork(internet: Readonly<Record<string, readonly string[]>>): void {
  const ns = (args: string[]): string => sh("ip", ["-n", NODE.netns, ...args]);
  sh("ip", ["netns", "add", NODE.netns]);
  ns(["link", "set", "lo", "up"]);
  sh("ip", [
    "link",
    "add",
    NODE.hostLink,
    "type",
    "veth",
    "peer",
    "name",
    NODE.nodeLink,
    "netns",
    NODE.netns,
  ]);
  sh("ip", ["addr", "add", `${NODE.hostIp}/${NODE.linkPrefix}`, "dev", NODE.hostLink]);
  sh("ip", ["link", "set", NODE.hostLink, "up"]);
  ns(["addr", "add", `${NODE.nodeIp}/${NODE.linkPrefix}`, "dev", NODE.nodeLink]);
  ns(["link", "set", NODE.nodeLink, "up"]);
  // The internet the tests use ends here: its addresses are local to the namespace (on its
  // loopback: these kernels have no dummy links), so a connection to one is refused.
  const sinks = [...new Set(Object.values(internet).flat())];
  for (const ip of sinks) ns(["addr", "add", `${ip}/32`, "dev", "lo"]);
  // The pod bridge exists before the first pod (the CNI bridge plugin takes it as it is), so
  // the node's own processes (the API server calling a webhook, dig) can route to ClusterIPs:
  // kube-proxy's DNAT happens after the route lookup of a local packet, which needs a route.
  ns(["link", "add", "cni0", "type", "bridge"]);
  ns(["link", "set", "cni0", "up"]);
  ns(["route", "add", NODE.serviceCidr, "dev", "cni0", "src", NODE.nodeIp]);
  // No default route: anything else is unreachable. Packets from the pod or Service ranges
  // that would leave through the uplink are dropped and counted.
  const ipt = (args: string[]): string =>
    sh("ip", ["netns", "exec", NODE.netns, "iptables", "-w", ...args]);
  ipt(["-t", "mangle", "-N", "OTTER-UPLINK"]);
  for (const cidr of [NODE.clusterCidr, NODE.serviceCidr]) {
    ipt(["-t", "mangle", "-A", "OTTER-UPLINK", "-s", cidr, "-j", "DROP"]);
  }
  ipt(["-t", "mangle", "-A", "POSTROUTING", "-o", NODE.nodeLink, "-j", "OTTER-UPLINK"]);
}

// ---------------------------------------------------------------------------
// certificates, tokens, kubeconfigs

interface NodePki {
  dir: string;
  ca: string;
  caKey: string;
  caPem: string;
  apiserverCert: string;
  apiserverKey: string;
  kubeletClientCert: string;
  kubeletClientKey: string;
  saKey: string;
  saPub: string;
}

function makeNodePki(dir: string): NodePki {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  openssl(
    dir,
    `req -x509 ${ec} -keyout ca.key -out ca.crt -days 3650 -subj /CN=otter-egress-node-ca` +
      " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign",
  );
  const sign = (name: string, subj: string, ext: string[]): void => {
    openssl(dir, `req -new ${ec} -keyout ${name}.key -out ${name}.csr -subj ${subj}`);
    fs.writeFileSync(path.join(dir, `${name}.ext`), [...ext, ""].join("\n"));
    openssl(
      dir,
      `x509 -req -in ${name}.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out ${name}.crt -days 3650 -extfile ${name}.ext`,
    );
  };
  const sans = [
    `IP:${NODE.nodeIp}`,
    `IP:${NODE.apiServiceIp}`,
    "IP:127.0.0.1",
    "DNS:localhost",
    "DNS:kubernetes",
    "DNS:kubernetes.default",
    "DNS:kubernetes.default.svc",
    `DNS:kubernetes.default.svc.${NODE.clusterDomain}`,
  ];
  sign("apiserver", "/CN=kube-apiserver", [
    `subjectAltName=${sans.join(",")}`,
    "basicConstraints=critical,CA:FALSE",
    "keyUsage=critical,digitalSignature,keyEncipherment",
    "extendedKeyUsage=serverAuth",
  ]);
  // The API server's identity towards kubelet (logs, exec, port-forward).
  sign("apiserver-kubelet-client", "/O=system:masters/CN=kube-apiserver-kubelet-client", [
    "basicConstraints=critical,CA:FALSE",
    "keyUsage=critical,digitalSignature,keyEncipherment",
    "extendedKeyUsage=clientAuth",
  ]);
  openssl(dir, "genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out sa.key");
  openssl(dir, "pkey -in sa.key -pubout -out sa.pub");
  const f = (n: string): string => path.join(dir, n);
  return {
    dir,
    ca: f("ca.crt"),
    caKey: f("ca.key"),
    caPem: fs.readFileSync(f("ca.crt"), "utf8"),
    apiserverCert: f("apiserver.crt"),
    apiserverKey: f("apiserver.key"),
    kubeletClientCert: f("apiserver-kubelet-client.crt"),
    kubeletClientKey: f("apiserver-kubelet-client.key"),
    saKey: f("sa.key"),
    saPub: f("sa.pub"),
  };
}

/** Static tokens: the admin, and each component as the identity RBAC and Node authz expect. */
const IDENTITIES = {
  admin: { user: ADMIN_USER, groups: ["system:masters"] },
  kubelet: { user: `system:node:${NODE.name}`, groups: ["system:nodes"] },
  proxy: { user: "system:kube-proxy", groups: [] },
  controllerManager: { user: "system:kube-controller-manager", groups: [] },
  scheduler: { user: "system:kube-scheduler", groups: [] },
} as const;
type Identity = keyof typeof IDENTITIES;

// ---------------------------------------------------------------------------
// configuration files

function containerdConfig(dir: string): string {
  const c = path.join(dir, "containerd");
  return `version = 2
root = "${c}/root"
state = "${c}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "${c}/containerd.sock"

[ttrpc]
  address = "${c}/containerd.sock.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "${c}/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  # These machines do not grant CAP_SYS_RESOURCE: no oom_score_adj below the runtime's own.
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_unprivileged_ports = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${dir}/cni/net.d"
`;
}

function cniConfig(dir: string): string {
  return JSON.stringify(
    {
      cniVersion: "1.0.0",
      name: CNI_NETWORK,
      plugins: [
        {
          type: "bridge",
          bridge: "cni0",
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: "host-local",
            dataDir: path.join(dir, "cni", "ipam"),
            ranges: [[{ subnet: NODE.podCidr }]],
            routes: [{ dst: "0.0.0.0/0" }],
          },
        },
        { type: "portmap", capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  );
}

function kubeletConfig(dir: string, pki: NodePki): string {
  return JSON.stringify(
    {
      apiVersion: "kubelet.config.k8s.io/v1beta1",
      kind: "KubeletConfiguration",
      // These machines mount cgroups v1 (with cgroup2 at unified); kubelet 1.35 refuses v1
      // unless told. The host's cgroups are not remounted or reconfigured.
      failCgroupV1: false,
      cgroupDriver: "cgroupfs",
      containerRuntimeEndpoint: `unix://${dir}/containerd/containerd.sock`,
      address: NODE.nodeIp,
      readOnlyPort: 0,
      healthzBindAddress: "127.0.0.1",
      healthzPort: 10248,
      authentication: {
        anonymous: { enabled: false },
        webhook: { enabled: true },
        x509: { clientCAFile: pki.ca },
      },
      authorization: { mode: "Webhook" },
      clusterDNS: [NODE.dnsIp],
      clusterDomain: NODE.clusterDomain,
      resolvConf: path.join(dir, "node-resolv.conf"),
      failSwapOn: false,
      // No image is ever pulled, so none may be collected either.
      imageGCHighThresholdPercent: 100,
      imageGCLowThresholdPercent: 99,
      evictionHard: {
        "memory.available": "100Mi",
        "nodefs.available": "1%",
        "imagefs.available": "1%",
        "nodefs.inodesFree": "1%",
      },
      syncFrequency: "10s",
      podLogsDir: path.join(dir, "pod-logs"),
      podCIDR: NODE.podCidr,
      maxPods: 110,
      serializeImagePulls: false,
      rotateCertificates: false,
      serverTLSBootstrap: false,
      shutdownGracePeriod: "0s",
    },
    null,
    2,
  );
}

function kubeProxyConfig(kubeconfig: string): string {
  return JSON.stringify(
    {
      apiVersion: "kubeproxy.config.k8s.io/v1alpha1",
      kind: "KubeProxyConfiguration",
      clientConnection: { kubeconfig },
      mode: "iptables",
      hostnameOverride: NODE.name,
      clusterCIDR: NODE.clusterCidr,
      bindAddress: NODE.nodeIp,
      healthzBindAddress: "127.0.0.1:10256",
      metricsBindAddress: "127.0.0.1:10249",
      // Leave the kernel's conntrack settings alone (some are machine-wide).
      conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: "0s", tcpCloseWaitTimeout: "0s" },
    },
    null,
    2,
  );
}

/** CoreDNS as the cluster DNS: kube-system/coredns behind Service kube-dns at NODE.dnsIp. */
export function corednsManifests(
  image: string,
  internet: Readonly<Record<string, readonly string[]>>,
): string {
  const hosts = Object.entries(internet)
    .flatMap(([name, ips]) => ips.map((ip) => `${ip} ${name}`))
    .join("\n");
  const corefile = `.:53 {
    errors
    health {
        lameduck 5s
    }
    ready
    hosts /etc/coredns/internet.hosts {
        ttl 30
        reload 2s
        fallthrough
    }
    kubernetes ${NODE.clusterDomain} in-addr.arpa ip6.arpa {
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }
    cache 30
    reload 2s
    loadbalance
}
`;
  const objects = [
    {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "coredns", namespace: "kube-system" },
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: "system:coredns" },
      rules: [
        {
          apiGroups: [""],
          resources: ["endpoints", "services", "pods", "namespaces"],
          verbs: ["list", "watch"],
        },
        {
          apiGroups: ["discovery.k8s.io"],
          resources: ["endpointslices"],
          verbs: ["list", "watch"],
        },
      ],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "system:coredns" },
      roleRef: {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name: "system:coredns",
      },
      subjects: [{ kind: "ServiceAccount", name: "coredns", namespace: "kube-system" }],
    },
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "coredns", namespace: "kube-system" },
      data: { Corefile: corefile, "internet.hosts": `${hosts}\n` },
    },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "coredns", namespace: "kube-system", labels: { "k8s-app": "kube-dns" } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { "k8s-app": "kube-dns" } },
        template: {
          metadata: { labels: { "k8s-app": "kube-dns" } },
          spec: {
            serviceAccountName: "coredns",
            priorityClassName: "system-cluster-critical",
            dnsPolicy: "Default",
            securityContext: {
              runAsNonRoot: true,
              runAsUser: 65532,
              seccompProfile: { type: "RuntimeDefault" },
              // Port 53 without a capability, as a pod may ask.
              sysctls: [{ name: "net.ipv4.ip_unprivileged_port_start", value: "53" }],
            },
            containers: [
              {
                name: "coredns",
                image,
                imagePullPolicy: "Never",
                args: ["-conf", "/etc/coredns/Corefile"],
                ports: [
                  { name: "dns", containerPort: 53, protocol: "UDP" },
                  { name: "dns-tcp", containerPort: 53, protocol: "TCP" },
                ],
                readinessProbe: { httpGet: { path: "/ready", port: 8181 }, periodSeconds: 2 },
                livenessProbe: { httpGet: { path: "/health", port: 8080 }, periodSeconds: 10 },
                resources: {
                  requests: { cpu: "50m", memory: "70Mi" },
                  limits: { memory: "170Mi" },
                },
                securityContext: {
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  capabilities: { drop: ["ALL"] },
                },
                volumeMounts: [{ name: "config", mountPath: "/etc/coredns", readOnly: true }],
              },
            ],
            volumes: [{ name: "config", configMap: { name: "coredns" } }],
          },
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "kube-dns", namespace: "kube-system", labels: { "k8s-app": "kube-dns" } },
      spec: {
        clusterIP: NODE.dnsIp,
        selector: { "k8s-app": "kube-dns" },
        ports: [
          { name: "dns", port: 53, protocol: "UDP", targetPort: 53 },
          { name: "dns-tcp", port: 53, protocol: "TCP", targetPort: 53 },
        ],
      },
    },
  ];
  return objects.map((o) => JSON.stringify(o)).join("\n---\n");
}

// ---------------------------------------------------------------------------
// images

/** Builds (or takes from the cache) the product's and the test's images: "ref path" each. */
export function buildImages(outDir: string): { ref: string; file: string }[] {
  const root = findRepoRoot();
  const r = spawnSync(
    process.execPath,
    [path.join(root, "scripts", "images.mjs"), "--test", "--out", outDir],
    {
      cwd: root,
      encoding: "utf8",
      maxBuffer: 16 << 20,
    },
  );
  if (r.status !== 0) throw new Error(`scripts/images.mjs failed: ${r.stderr.trim()}`);
  return r.stdout
    .trim()
    .split("\n")
    .map((l) => {
      const [ref, file] = l.split(" ") as [string, string];
      return { ref, file };
    });
}

// ---------------------------------------------------------------------------
// start

/** Starts the node; see the file's comment. */
export async function startNode(opts: NodeOptions): Promise<NodeCluster> {
  const log = opts.log ?? ((): void => undefined);
  const detached = opts.detached ?? false;
  const deadline = Date.now() + (opts.timeoutMs ?? 240_000);
  const left = (): number => Math.max(5000, deadline - Date.now());
  const binDir = opts.binDir ?? defaultBinDir();
  const bin = (n: string): string => requireBinary(binDir, n);
  const internet = opts.internet ?? SEED_INTERNET;
  const dir = path.resolve(opts.dir);
  for (const tool of ["containerd", "runc", "ctr", "iptables", "nsenter", "ip", "openssl", "dig"]) {
    if (spawnSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" }).status !== 0) {
      throw new Error(
        `${tool} not found: the node needs containerd, runc, iptables, iproute2, openssl and dig (dnsutils)`,
      );
    }
  }
  if (!fs.existsSync("/usr/lib/cni/bridge")) {
    throw new Error(
      "the CNI plugins are not in /usr/lib/cni: apt-get install containernetworking-plugins",
    );
  }

  const sysctls: Record<string, string> = {};
  const state: HostState = {
    dir,
    owner: detached ? 0 : process.pid,
    sysctls,
    hostPaths: {},
    netnsDirExisted: false,
    netnsDirMounted: false,
    startedAt: new Date().toISOString(),
  };
  await acquireNode(state, deadline, log);
  opts.onAcquired?.();
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });

  const procs: Proc[] = [];
  let watchdog: ChildProcess | undefined;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await stopNode({ dir });
    killWatchdog();
  };
  const killWatchdog = (): void => {
    // Its own process group: the shell and its cat, before they could see EOF and run down.js.
    if (watchdog?.pid !== undefined) signalGroup(watchdog.pid);
  };
  if (!detached) {
    // When this process dies for any reason, a detached watchdog tears the node down.
    const down = path.join(findRepoRoot(), "dist", "test", "controlplane", "down.js");
    watchdog = spawn(
      "sh",
      ["-c", 'cat >/dev/null 2>&1; exec "$0" "$1" --node "$2"', process.execPath, down, dir],
      { stdio: ["pipe", "ignore", "ignore"], detached: true },
    );
    watchdog.on("error", () => undefined);
    watchdog.stdin?.on("error", () => undefined);
    watchdog.unref();
    (watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  }

  try {
    const started = Date.now();
    // --- images (cached builds), network, certificates
    const images = buildImages(path.join(dir, "images"));
    log(`images ready (${((Date.now() - started) / 1000).toFixed(1)}s)`);
    setUpNetwork(internet);
    const pki = makeNodePki(path.join(dir, "certs"));
    const server = `https://${NODE.nodeIp}:${NODE.apiPort}`;
    const tokens = Object.fromEntries(
      Object.keys(IDENTITIES).map((k) => [k, randomBytes(24).toString("hex")]),
    ) as Record<Identity, string>;
    const tokenFile = path.join(pki.dir, "tokens.csv");
    fs.writeFileSync(
      tokenFile,
      Object.entries(IDENTITIES)
        .map(([k, id]) => `${tokens[k as Identity]},${id.user},${id.user},"${id.groups.join(",")}"`)
        .join("\n") + "\n",
      { mode: 0o600 },
    );
    const kubeconfigs = {} as Record<Identity, string>;
    for (const k of Object.keys(IDENTITIES) as Identity[]) {
      const file =
        k === "admin" ? path.join(dir, "kubeconfig") : path.join(pki.dir, `${k}.kubeconfig`);
      fs.writeFileSync(file, kubeconfigYaml(server, tokens[k], pki.caPem, IDENTITIES[k].user), {
        mode: 0o600,
      });
      kubeconfigs[k] = file;
    }
    fs.writeFileSync(path.join(dir, "node-resolv.conf"), "nameserver 127.0.0.1\n");
    const prefix = netnsArgs();
    const start = (name: string, args: string[]): Proc => {
      const p = launch(dir, name, bin(name), args, detached, prefix);
      procs.push(p);
      return p;
    };

    // --- etcd and kube-apiserver
    const etcd = start("etcd", [
      "--name=otter",
      `--data-dir=${path.join(dir, "etcd")}`,
      "--listen-client-urls=http://127.0.0.1:2379",
      "--advertise-client-urls=http://127.0.0.1:2379",
      "--listen-peer-urls=http://127.0.0.1:2380",
      "--initial-advertise-peer-urls=http://127.0.0.1:2380",
      "--initial-cluster=otter=http://127.0.0.1:2380",
      "--initial-cluster-state=new",
      "--unsafe-no-fsync",
      "--log-level=warn",
    ]);
    const apiserver = start("kube-apiserver", [
      "--etcd-servers=http://127.0.0.1:2379",
      `--bind-address=${NODE.nodeIp}`,
      `--advertise-address=${NODE.nodeIp}`,
      `--secure-port=${NODE.apiPort}`,
      `--tls-cert-file=${pki.apiserverCert}`,
      `--tls-private-key-file=${pki.apiserverKey}`,
      `--client-ca-file=${pki.ca}`,
      `--kubelet-client-certificate=${pki.kubeletClientCert}`,
      `--kubelet-client-key=${pki.kubeletClientKey}`,
      "--kubelet-preferred-address-types=InternalIP",
      "--authorization-mode=Node,RBAC",
      "--enable-admission-plugins=NodeRestriction",
      `--token-auth-file=${tokenFile}`,
      `--service-account-issuer=https://kubernetes.default.svc.${NODE.clusterDomain}`,
      `--service-account-key-file=${pki.saPub}`,
      `--service-account-signing-key-file=${pki.saKey}`,
      `--service-cluster-ip-range=${NODE.serviceCidr}`,
      "--allow-privileged=true",
      "--profiling=false",
      "--v=1",
    ]);
    await waitFor(apiserver, `kube-apiserver /readyz on ${server}`, deadline, async () => {
      if (etcd.exited()) throw new Error(`etcd ${etcd.exited() ?? ""}: ${tail(etcd.log)}`);
      const r = await request(`${server}/readyz`, { token: tokens.admin, ca: pki.caPem });
      return r.status === 200;
    });
    log(`API server ready (${((Date.now() - started) / 1000).toFixed(1)}s)`);

    // --- controller manager and scheduler
    start("kube-controller-manager", [
      `--kubeconfig=${kubeconfigs.controllerManager}`,
      "--use-service-account-credentials=true",
      `--service-account-private-key-file=${pki.saKey}`,
      `--root-ca-file=${pki.ca}`,
      `--cluster-signing-cert-file=${pki.ca}`,
      `--cluster-signing-key-file=${pki.caKey}`,
      "--allocate-node-cidrs=true",
      `--cluster-cidr=${NODE.clusterCidr}`,
      `--service-cluster-ip-range=${NODE.serviceCidr}`,
      "--leader-elect=false",
      "--secure-port=0",
      "--v=1",
    ]);
    start("kube-scheduler", [
      `--kubeconfig=${kubeconfigs.scheduler}`,
      "--leader-elect=false",
      "--secure-port=0",
      "--v=1",
    ]);

    // --- containerd, with every image imported before kubelet starts
    fs.mkdirSync(path.join(dir, "cni", "net.d"), { recursive: true });
    fs.writeFileSync(path.join(dir, "cni", "net.d", "10-otter-egress.conflist"), cniConfig(dir));
    const containerdToml = path.join(dir, "containerd.toml");
    fs.writeFileSync(containerdToml, containerdConfig(dir));
    const containerd = launch(
      dir,
      "containerd",
      "containerd",
      [`--config=${containerdToml}`],
      detached,
      prefix,
    );
    procs.push(containerd);
    const sock = path.join(dir, "containerd", "containerd.sock");
    await waitFor(containerd, "containerd's socket", deadline, () =>
      Promise.resolve(
        fs.existsSync(sock) &&
          spawnSync("ctr", ["--address", sock, "version"], { stdio: "ignore" }).status === 0,
      ),
    );
    const importImages = async (archives: string[]): Promise<string[]> => {
      const refs: string[] = [];
      for (const a of archives) {
        const out = await run(
          "ctr",
          ["--address", sock, "-n", "k8s.io", "images", "import", a],
          left(),
        );
        refs.push(...[...out.matchAll(/unpacking (\S+)/g)].map((m) => m[1] ?? ""));
      }
      return refs;
    };
    await importImages(images.map((i) => i.file));
    log(`images imported (${((Date.now() - started) / 1000).toFixed(1)}s)`);

    // --- kubelet and kube-proxy
    const kubeletYaml = path.join(dir, "kubelet.json");
    fs.writeFileSync(kubeletYaml, kubeletConfig(dir, pki));
    const kubelet = start("kubelet", [
      `--config=${kubeletYaml}`,
      `--kubeconfig=${kubeconfigs.kubelet}`,
      `--root-dir=${path.join(dir, "kubelet")}`,
      `--cert-dir=${path.join(dir, "kubelet", "pki")}`,
      `--hostname-override=${NODE.name}`,
      `--node-ip=${NODE.nodeIp}`,
      "--v=1",
    ]);
    const proxyConfig = path.join(dir, "kube-proxy.json");
    fs.writeFileSync(proxyConfig, kubeProxyConfig(kubeconfigs.proxy));
    start("kube-proxy", [`--config=${proxyConfig}`, "--v=1"]);

    const kubeconfig = kubeconfigs.admin;
    const kubectl = bin("kubectl");
    const k = (args: string[], input?: string): Promise<string> =>
      run(kubectl, ["--kubeconfig", kubeconfig, ...args], left(), input);
    await waitFor(kubelet, `node ${NODE.name} Ready`, deadline, async () => {
      const out = await k([
        "get",
        "node",
        NODE.name,
        "-o",
        "jsonpath={.status.conditions[?(@.type=='Ready')].status}",
      ]);
      return out.trim() === "True";
    });
    log(`node Ready (${((Date.now() - started) / 1000).toFixed(1)}s)`);

    // --- the default ServiceAccount (controller manager) and CRDs
    await ensure(
      apiOf(server, tokens.admin, pki.caPem),
      "/api/v1/namespaces/default/serviceaccounts/default",
      "/api/v1/namespaces/default/serviceaccounts",
      { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default" } },
      10_000,
    );
    await applyCrds(kubeconfig, opts.crds, { binDir, timeoutMs: left() });

    // --- CoreDNS as the cluster DNS
    const corednsImage = images.find((i) => i.ref.includes("/coredns:"))?.ref;
    if (!corednsImage) throw new Error("scripts/images.mjs --test built no CoreDNS image");
    await k(["apply", "-f", "-"], corednsManifests(corednsImage, internet));
    await k([
      "-n",
      "kube-system",
      "rollout",
      "status",
      "deployment/coredns",
      `--timeout=${Math.ceil(left() / 1000)}s`,
    ]);
    // Ready is not reachable: wait until kube-proxy routes the kube-dns Service to it.
    const probe = `kubernetes.default.svc.${NODE.clusterDomain}`;
    await waitFor(kubelet, `an answer from ${NODE.dnsIp} (kube-dns)`, deadline, async () => {
      const out = await run(
        "ip",
        [
          "netns",
          "exec",
          NODE.netns,
          "dig",
          "+short",
          "+time=1",
          "+tries=1",
          `@${NODE.dnsIp}`,
          probe,
        ],
        5000,
      );
      return out.trim() === NODE.apiServiceIp;
    });
    log(`CoreDNS ready (${((Date.now() - started) / 1000).toFixed(1)}s)`);

    const inNetns = (cmd: string, args: string[], timeoutMs = 30_000): Promise<string> =>
      run("ip", ["netns", "exec", NODE.netns, cmd, ...args], timeoutMs);
    const uplinkLeaks = async (): Promise<number> => {
      const out = await inNetns("iptables", [
        "-w",
        "-t",
        "mangle",
        "-L",
        "OTTER-UPLINK",
        "-n",
        "-v",
        "-x",
      ]);
      let packets = 0;
      for (const line of out.split("\n")) {
        const m = /^\s*(\d+)\s+\d+\s+DROP/.exec(line);
        if (m) packets += Number(m[1]);
      }
      return packets;
    };
    return {
      kubeconfig,
      server,
      token: tokens.admin,
      dir,
      stop,
      nodeName: NODE.name,
      images: images.map((i) => i.ref),
      inNetns,
      uplinkLeaks,
      importImages,
    };
  } catch (err) {
    const logs = procs
      .filter((p) => p.exited() !== undefined || !isAlive(p.pid))
      .map((p) => `${p.name} ${p.exited() ?? "exited"}:\n${tail(p.log)}`)
      .join("\n");
    // Keep the logs for a post-mortem; the next start removes them.
    if (!detached) await stopNode({ dir, remove: false }).catch(() => undefined);
    killWatchdog();
    const msg = err instanceof Error ? err.message : String(err);
    throw new Error(logs ? `${msg}\n${logs}` : msg, { cause: err });
  }
}

function signalGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // gone
  }
}

/**
 * Takes the machine's one node: creates the state directory (atomic), recording the host's
 * values that the node will change. A node whose owner died, or a detached node with nothing
 * left running, is torn down first; a live one is waited for until the deadline.
 */
async function acquireNode(
  state: HostState,
  deadline: number,
  log: (l: string) => void,
): Promise<void> {
  let waited = false;
  for (;;) {
    try {
      fs.mkdirSync(STATE_DIR);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const other = readState();
      const alive = other
        ? other.owner > 0
          ? isAlive(other.owner) && other.owner !== process.pid
          : pidsNaming(other.dir).length > 0
        : Date.now() - fs.statSync(STATE_DIR).mtimeMs < 10_000; // being written
      if (!alive) {
        const cleaned = await stopNode();
        if (cleaned.length) log(`cleaned up a previous node: ${cleaned.join("; ")}`);
        fs.rmSync(STATE_DIR, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new Error(
          `another node is running (${other?.dir ?? STATE_DIR}, owner ${String(other?.owner)}): ` +
            "one node per machine; stop it with npm run cluster:down",
          { cause: err },
        );
      }
      if (!waited) log(`waiting for the node in ${other?.dir ?? "?"} to stop`);
      waited = true;
      await sleep(1000);
      continue;
    }
    // Ours. A stray namespace or link of a run killed before it wrote its state goes first.
    const stray: string[] = [];
    removeNetwork(stray);
    if (stray.length) log(`removed ${stray.join("; ")}`);
    for (const s of KUBELET_SYSCTLS) {
      const v = readSysctl(s);
      if (v !== undefined) state.sysctls[s] = v;
    }
    state.hostPaths = Object.fromEntries(HOST_PATHS.map((p) => [p, fs.existsSync(p)]));
    state.netnsDirExisted = fs.existsSync(NETNS_DIR);
    state.netnsDirMounted = mountsBelow(NETNS_DIR).includes(NETNS_DIR);
    fs.writeFileSync(STATE_FILE, JSON.stringify(state, null, 2));
    return;
  }
}
