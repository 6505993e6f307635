// `npm run dist`: the plugin as a standalone binary (a Node single executable application),
// packed as kubectl-otter_<os>_<arch>.tar.gz (the binary and LICENSE) with its sha256, and the
// krew manifest's platforms filled from them.
//
//   node scripts/dist.mjs [--node OS/ARCH=PATH ...] [--out DIR] [--manifest FILE]
//
// --out (default build/dist) takes the archives, --manifest (default krew-manifest.yaml) the
// manifest: the tests build into a temporary folder.
//
// linux/amd64 (this machine) uses the running node. Other platforms are built where a Node
// binary for them is at hand: --node darwin/arm64=/path/to/node (postject injects into ELF,
// Mach-O and PE alike; a macOS binary must be signed again on a Mac).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { build } from "esbuild";
import { OPTIONAL_ADDONS } from "./optional-addons.mjs";
import { REPRODUCIBLE_TAR } from "./reproducible-tar.mjs";

const root = resolve(import.meta.dirname, "..");
let out = join(root, "build", "dist");
let manifest = join(root, "krew-manifest.yaml");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const SENTINEL = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";
const COMPLETION = "kubectl_complete-otter";
const REPO = "https://github.com/otter-egress/otter-egress";

const targets = [{ os: "linux", arch: "amd64", node: process.execPath }];
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const flag = args[i];
  const value = args[++i];
  const m = flag === "--node" ? /^(\w+)\/(\w+)=(.+)$/.exec(value ?? "") : null;
  if (m) targets.push({ os: m[1], arch: m[2], node: m[3] });
  else if (flag === "--out" && value) out = resolve(value);
  else if (flag === "--manifest" && value) manifest = resolve(value);
  else {
    console.error(
      "usage: node scripts/dist.mjs [--node OS/ARCH=PATH ...] [--out DIR] [--manifest FILE]",
    );
    process.exit(2);
  }
}
const work = join(out, "sea");

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
mkdirSync(out, { recursive: true });

// 1. Three CommonJS files: what every start needs (the command line, help, completion); what a
// command's run needs (the engine, files, rendering), evaluated when a command runs; and the
// Kubernetes client (most of the bytes), evaluated only when a command reads the cluster. The
// last two are assets of the binary, so that `--help` and `version` load neither.
const absentOptional = {
  // Optional native add-ons of dependencies (ws, node-fetch), loaded in a try: bundled as
  // "not installed", so the binary never asks its require() for a file on disk.
  name: "absent-optional",
  setup(b) {
    b.onResolve({ filter: OPTIONAL_ADDONS }, (a) => ({
      path: a.path,
      namespace: "absent",
    }));
    b.onLoad({ filter: /.*/, namespace: "absent" }, (a) => ({
      contents: `throw Object.assign(new Error("Cannot find module '${a.path}'"), { code: "MODULE_NOT_FOUND" });`,
      loader: "js",
    }));
  },
};
/** Imports matching `filter` become the binary's asset `name`, evaluated by the first require. */
const asAsset = (filter, name) => ({
  name: `asset-${name}`,
  setup(b) {
    b.onResolve({ filter }, () => ({ path: name, namespace: "sea-asset" }));
    b.onLoad({ filter: /.*/, namespace: "sea-asset" }, (a) => ({
      contents: `const { getAsset } = require("node:sea");
const { Script } = require("node:vm");
const code = getAsset(${JSON.stringify(a.path)}, "utf8");
const wrapped = new Script("(function (exports, require, module) {" + code + "\\n})", {
  filename: ${JSON.stringify(a.path)},
}).runInThisContext();
wrapped(module.exports, require, module);`,
      loader: "js",
    }));
  },
});
const clientAsset = asAsset(/plugin-client\.js$/, "kubernetes-client.cjs");
const common = {
  bundle: true,
  platform: "node",
  target: "node24",
  format: "cjs",
  minify: true,
  legalComments: "none",
  logLevel: "warning",
};
// Only what the plugin uses of the client (kube/plugin-client.ts, which the npm package bundles
// too), so that the rest is shaken out. Built from its source: the npm bundle is ES modules.
const client = join(work, "kubernetes-client.cjs");
await build({
  ...common,
  entryPoints: [join(root, "kube", "plugin-client.ts")],
  outfile: client,
  plugins: [absentOptional],
});
const runHalf = join(work, "plugin-run.cjs");
await build({
  ...common,
  entryPoints: [join(root, "dist/cmd/plugin-run.js")],
  outfile: runHalf,
  plugins: [absentOptional, clientAsset],
});
const bundle = join(work, "kubectl-otter.cjs");
await build({
  ...common,
  stdin: {
    contents: `import { runProcess } from "./dist/cmd/kubectl-otter.js";
runProcess(process.argv.slice(2));`,
    resolveDir: root,
    loader: "js",
  },
  outfile: bundle,
  plugins: [
    absentOptional,
    clientAsset,
    asAsset(/plugin-run\.js$/, "plugin-run.cjs"),
    {
      // commander loads child_process (and with it net and stream) at start for subcommands
      // that are executables of their own, which the plugin has none of: it is loaded on use.
      name: "lazy-child-process",
      setup(b) {
        b.onResolve({ filter: /^(node:)?child_process$/ }, (a) =>
          a.importer.includes("node_modules/commander/")
            ? { path: "child_process", namespace: "lazy-builtin" }
            : undefined,
        );
        b.onLoad({ filter: /.*/, namespace: "lazy-builtin" }, () => ({
          contents: `let m;
module.exports = new Proxy({}, { get: (_, k) => (m ??= require("node:child_process"))[k] });`,
          loader: "js",
        }));
      },
    },
  ],
});

// 2. The SEA blob, with V8's code cache so the binary starts without compiling the bundle.
const blob = join(work, "sea-prep.blob");
const pluginFlags = JSON.parse(readFileSync(join(root, "cmd", "plugin-exec-argv.json"), "utf8"));
const seaConfig = join(work, "sea-config.json");
writeFileSync(
  seaConfig,
  JSON.stringify({
    main: bundle,
    output: blob,
    disableExperimentalSEAWarning: true,
    useCodeCache: true,
    // The V8 flags the plugin runs with (ADR 15), as bin/kubectl-otter.js's first line gives them.
    execArgv: pluginFlags,
    assets: { "kubernetes-client.cjs": client, "plugin-run.cjs": runHalf },
  }),
);
// The code cache is made under the same flags: V8 rejects a cache made under others (with a
// warning on every run), and some flags (--heap-growing-percent) are part of its check.
execFileSync(process.execPath, [...pluginFlags, "--experimental-sea-config", seaConfig], {
  stdio: "inherit",
});

// 3. Per platform: a copy of node with the blob injected, packed reproducibly.
const platforms = [];
for (const t of targets) {
  const exe = t.os === "windows" ? "kubectl-otter.exe" : "kubectl-otter";
  const dir = join(work, `${t.os}_${t.arch}`);
  mkdirSync(dir, { recursive: true });
  const bin = join(dir, exe);
  copyFileSync(t.node, bin);
  chmodSync(bin, 0o755);
  execFileSync(
    process.execPath,
    [
      join(root, "node_modules", "postject", "dist", "cli.js"),
      bin,
      "NODE_SEA_BLOB",
      blob,
      "--sentinel-fuse",
      SENTINEL,
      ...(t.os === "darwin" ? ["--macho-segment-name", "NODE_SEA"] : []),
    ],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  copyFileSync(join(root, "LICENSE"), join(dir, "LICENSE"));
  // kubectl's plugin completion (kubectl 1.26+) runs kubectl_complete-otter from PATH.
  const completion = t.os === "windows" ? [] : [COMPLETION];
  for (const f of completion) copyFileSync(join(root, "bin", f), join(dir, f));
  const name = `kubectl-otter_${t.os}_${t.arch}.tar.gz`;
  const archive = join(out, name);
  // Sorted names, fixed times and owners, gzip without a timestamp: same input, same bytes.
  const tar = execFileSync(
    "tar",
    [...REPRODUCIBLE_TAR, "-C", dir, "-cf", "-", exe, ...completion, "LICENSE"],
    {
      maxBuffer: 1 << 30,
    },
  );
  writeFileSync(archive, execFileSync("gzip", ["-n", "-9"], { input: tar, maxBuffer: 1 << 30 }));
  const sha256 = createHash("sha256").update(readFileSync(archive)).digest("hex");
  writeFileSync(`${archive}.sha256`, `${sha256}  ${name}\n`);
  platforms.push({ ...t, exe, name, sha256, completion });
  console.log(`${name}  ${sha256}`);
}

// 4. The krew manifest, its platforms from what was just built.
const platformYaml = platforms
  .map(
    (p) => `    - selector:
        matchLabels:
          os: ${p.os}
          arch: ${p.arch}
      uri: ${REPO}/releases/download/v${pkg.version}/${p.name}
      sha256: ${p.sha256}
      bin: ${p.exe}
      files:
        - from: ${p.exe}
          to: .${p.completion.map((f) => `\n        - from: ${f}\n          to: .`).join("")}
        - from: LICENSE
          to: .`,
  )
  .join("\n");
writeFileSync(
  manifest,
  `# Written by \`npm run dist\` (scripts/dist.mjs): the platforms, URIs and sha256 come from the
# archives it built.
apiVersion: krew.googlecontainertools.github.com/v1alpha2
kind: Plugin
metadata:
  name: otter
spec:
  version: v${pkg.version}
  homepage: ${REPO}
  shortDescription: Diff Otterize ClientIntents against real egress
  description: |
    kubectl otter egress compares the egress a workload is allowed in its Otterize
    ClientIntents with the egress the cluster really observed, and prints the drift:
    targets that are missing (used but not declared) and unnecessary (declared but unused).
    It suggests and writes the fix, and gates pull requests.

    It reads ClientIntents from files or from the cluster. Observed egress comes from
    ObservedEgress objects, written in the cluster by the otter egress collector (installed
    with the otter-egress Helm chart, fed by CoreDNS's dnstap), or from a snapshot file.
  caveats: |
    Shell completion (kubectl 1.26 or newer): krew links only the plugin, so link its
    completion too:
      ln -s ~/.krew/store/otter/v${pkg.version}/kubectl_complete-otter ~/.krew/bin/
  platforms:
${platformYaml}
`,
);
