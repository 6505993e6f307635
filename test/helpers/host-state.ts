import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { HOST_PATHS } from "../controlplane/node.js";

/**
 * What a test that runs a node may change on the host and must put back: kernel and network
 * sysctls, mounts, network links, the host's iptables rules, top-level cgroups, the CNI cache
 * and /run/netns. Values that move on their own (counters, random pools, the clock) are left out.
 */
export interface HostState {
  sysctls: Record<string, string>;
  mounts: string[];
  links: string[];
  iptables: string[];
  cgroups: string[];
  paths: Record<string, boolean>;
}

const SYSCTL_DIRS = ["kernel", "vm", "net/ipv4", "net/ipv6/conf/all", "net/bridge", "net/core"];
const VOLATILE =
  /^(kernel\/(random|ns_last_pid|pty\/nr|tainted|sched_domain|usermodehelper|keys\/(maxkeys|maxbytes)$)|vm\/(stat_refresh|drop_caches|compact_memory|nr_|dirty)|net\/ipv4\/(neigh|route\/flush|tcp_fastopen_key|conf\/(?!all|default))|net\/core\/(netdev_rss_key|dev_weight))/;

function readTree(base: string, rel: string, out: Record<string, string>, depth = 0): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(path.join(base, rel), { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const r = `${rel}/${e.name}`;
    if (VOLATILE.test(r)) continue;
    if (e.isDirectory()) {
      if (depth < 3) readTree(base, r, out, depth + 1);
      continue;
    }
    try {
      out[r] = fs.readFileSync(path.join(base, r), "utf8").trim();
    } catch {
      // write-only or not readable
    }
  }
}

function lines(cmd: string, args: string[]): string[] {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  return (r.stdout ?? "").split("\n").filter((l) => l.trim() !== "");
}

export function hostState(): HostState {
  const sysctls: Record<string, string> = {};
  for (const d of SYSCTL_DIRS) readTree("/proc/sys", d, sysctls);
  const mounts = fs
    .readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((m) => m !== "")
    .sort();
  const links = lines("ip", ["-o", "link", "show"])
    .map((l) => (l.split(":")[1]?.trim() ?? "").split("@")[0] ?? "")
    .sort();
  const iptables = [...lines("iptables-save", []), ...lines("ip6tables-save", [])]
    .filter((l) => !l.startsWith("#"))
    .map((l) => l.replace(/\[\d+:\d+\]/g, ""));
  const cgroups: string[] = [];
  for (const h of fs.readdirSync("/sys/fs/cgroup")) {
    try {
      for (const e of fs.readdirSync(path.join("/sys/fs/cgroup", h), { withFileTypes: true })) {
        if (e.isDirectory()) cgroups.push(`${h}/${e.name}`);
      }
    } catch {
      // not a directory
    }
  }
  const paths = Object.fromEntries([...HOST_PATHS, "/run/netns"].map((p) => [p, fs.existsSync(p)]));
  return { sysctls, mounts, links, iptables, cgroups: cgroups.sort(), paths };
}
