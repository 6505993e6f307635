import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { median } from "./stats.js";

/**
 * `npm run bench:startup` (after `npm run dist`): how long `kubectl otter --help` takes with
 * the standalone binary and with `node dist/…`, beside `kubectl version --client`, in the same
 * run, alternating, and beside `node -e 0` of the same Node (the floor of any Node program; the
 * binary is one). Goal: the binary's start within 1.15× of that floor.
 */

const RUNS = Number(process.env.BENCH_RUNS ?? 20);
// The runtime the binary embeds: the project's Node (what `npm run dist` ran on), whatever node
// runs this script.
const local = resolve("node_modules/.bin/node");
const runtime = existsSync(local) ? local : process.execPath;
const kubectl = resolve(".cache/bin/kubectl");
const archive = resolve("build/dist/kubectl-otter_linux_amd64.tar.gz");

const binDir = mkdtempSync(join(tmpdir(), "otter-startup-bin-"));
const nodeDir = mkdtempSync(join(tmpdir(), "otter-startup-node-"));
// A second copy left as tar wrote it, to show what the page cache's state costs.
const freshDir = mkdtempSync(join(tmpdir(), "otter-startup-fresh-"));
const untar = spawnSync("sh", [
  "-c",
  'tar -xzf "$1" -C "$2" && tar -xzf "$1" -C "$3"',
  "sh",
  archive,
  binDir,
  freshDir,
]);
if (untar.status !== 0) {
  console.error(`no ${archive}: run npm run dist first`);
  process.exit(2);
}
symlinkSync(resolve("bin/kubectl-otter.js"), join(nodeDir, "kubectl-otter"));

/**
 * Both executables as an installed program is read: from disk, by the kernel's readahead.
 * A file just written in small pieces (tar writes 10 KiB at a time) stays in the page cache
 * in small pages until evicted, and mapping a 130 MB executable from those costs ~3 ms more
 * per start than from the same bytes read back (measured: 31.2 ms fresh from tar, 28.1 ms
 * once its pages were dropped and read again, against node -e 0 at 28.9 ms). Dropping one
 * file's pages (dd iflag=nocache) changes nothing else on the host.
 */
function readFromDisk(file: string): void {
  spawnSync("dd", [`if=${file}`, "iflag=nocache", "count=0"], { stdio: "ignore" });
  spawnSync("cat", [file], { stdio: "ignore" });
}
readFromDisk(join(binDir, "kubectl-otter"));
readFromDisk(realpathSync(runtime));

function timed(args: string[], path?: string, bin = kubectl): number {
  const env = path ? { ...process.env, PATH: `${path}:${process.env.PATH ?? ""}` } : process.env;
  const t = process.hrtime.bigint();
  const r = spawnSync(bin, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${bin} ${args.join(" ")}: ${r.stderr.toString()}`);
  return ms;
}

const cases = {
  "kubectl version --client": () => timed(["version", "--client"]),
  "kubectl otter --help (binary)": () => timed(["otter", "--help"], binDir),
  "kubectl otter --help (node dist/)": () => timed(["otter", "--help"], nodeDir),
  // The plugin's own start, as kubectl's own is measured: without kubectl in front.
  "kubectl-otter --help (binary alone)": () =>
    timed(["--help"], undefined, join(binDir, "kubectl-otter")),
  "kubectl-otter --help (just extracted)": () =>
    timed(["--help"], undefined, join(freshDir, "kubectl-otter")),
  "kubectl-otter --help (node dist/ alone)": () =>
    timed(["--help"], undefined, join(nodeDir, "kubectl-otter")),
  // The floor of any Node program here, the binary included (a SEA is a node).
  "node -e 0 (Node's own start)": () => timed(["-e", "0"], undefined, runtime),
};
const times = new Map<string, number[]>(Object.keys(cases).map((k) => [k, []]));
for (const f of Object.values(cases)) f(); // warm the page cache
for (let i = 0; i < RUNS; i++) {
  for (const [name, f] of Object.entries(cases)) times.get(name)?.push(f());
}
const base = median(times.get("kubectl version --client") ?? []);
console.log(`start-up, median of ${RUNS} runs each, alternating:`);
for (const [name, t] of times) {
  const m = median(t);
  console.log(
    `  ${name.padEnd(40)} ${m.toFixed(1).padStart(7)} ms  (${(m / base).toFixed(2)}× kubectl)`,
  );
}
const floor = median(times.get("node -e 0 (Node's own start)") ?? []);
const alone = median(times.get("kubectl-otter --help (binary alone)") ?? []);
const through = median(times.get("kubectl otter --help (binary)") ?? []);
console.log(
  `goal: the binary's start within 1.15× of the runtime's floor (node -e 0, ${floor.toFixed(1)} ms): ` +
    `${alone <= 1.15 * floor ? "met" : "not met"} (${(alone / floor).toFixed(2)}× alone; ` +
    `${(through / base).toFixed(2)}× kubectl's own start through kubectl, which starts first)`,
);
rmSync(binDir, { recursive: true, force: true });
rmSync(freshDir, { recursive: true, force: true });
rmSync(nodeDir, { recursive: true, force: true });
