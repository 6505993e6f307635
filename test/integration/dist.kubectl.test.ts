import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import test from "ava";
import { load } from "js-yaml";
import { exec, KUBECTL } from "../helpers/cluster.js";

/**
 * `npm run dist` (scripts/dist.mjs): the plugin as a Node single executable, its archive and
 * sha256, the krew manifest filled from them, and the binary run by the real kubectl from a
 * folder with no node_modules.
 */

const out = mkdtempSync(join(tmpdir(), "otter-dist-"));
const manifestFile = join(out, "krew-manifest.yaml");
const ARCHIVE = "kubectl-otter_linux_amd64.tar.gz";
type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const built = exec(process.execPath, [
  "scripts/dist.mjs",
  "--out",
  out,
  "--manifest",
  manifestFile,
]);

test("the krew manifest has krew's shape, and its sha256 is the archive's", async (t) => {
  const r = await built;
  t.is(r.code, 0, r.stderr);
  const m = load(readFileSync(manifestFile, "utf8")) as Obj;
  t.is(m.apiVersion, "krew.googlecontainertools.github.com/v1alpha2");
  t.is(m.kind, "Plugin");
  t.is(m.metadata.name, "otter");
  t.true(m.spec.shortDescription.length <= 50, m.spec.shortDescription);
  t.regex(m.spec.description, /ObservedEgress/);
  t.regex(m.spec.description, /collector/);
  t.regex(m.spec.version, /^v\d+\.\d+\.\d+$/);
  const linux = (m.spec.platforms as Obj[]).find(
    (p) => p.selector.matchLabels.os === "linux" && p.selector.matchLabels.arch === "amd64",
  ) as Obj;
  t.truthy(linux);
  t.true(linux.uri.endsWith(`/${m.spec.version}/${ARCHIVE}`), linux.uri);
  t.is(linux.bin, "kubectl-otter");
  t.deepEqual(
    (linux.files as Obj[]).map((f) => f.from),
    ["kubectl-otter", "kubectl_complete-otter", "LICENSE"],
  );
  const sha = createHash("sha256")
    .update(readFileSync(join(out, ARCHIVE)))
    .digest("hex");
  t.is(linux.sha256, sha);
  t.is(readFileSync(join(out, `${ARCHIVE}.sha256`), "utf8"), `${sha}  ${ARCHIVE}\n`);
  // The repository's manifest has the same shape (it is written by the same script).
  const committed = load(readFileSync("krew-manifest.yaml", "utf8")) as Obj;
  t.deepEqual(Object.keys(committed.spec).sort(), Object.keys(m.spec).sort());
});

test("the binary runs through the real kubectl from a folder without node_modules", async (t) => {
  t.is((await built).code, 0);
  const dir = mkdtempSync(join(tmpdir(), "otter-bin-"));
  const untar = await exec("tar", ["-xzf", join(out, ARCHIVE), "-C", dir]);
  t.is(untar.code, 0, untar.stderr);
  t.deepEqual(readdirSync(dir).sort(), ["LICENSE", "kubectl-otter", "kubectl_complete-otter"]);
  const env = { PATH: `${dir}:/usr/bin:/bin`, HOME: dir };
  const version = await exec(KUBECTL, ["otter", "version"], env);
  t.regex(version.stdout, /^kubectl-otter \d+\.\d+\.\d+ \(Node\.js v24\.\d+\.\d+\)\n$/);
  const completion = await exec(KUBECTL, ["__complete", "otter", "egress", "li"], env);
  t.is(completion.stdout, "list\tList observed egress\n:4\n");
  const help = await exec(KUBECTL, ["otter", "--help"], env);
  t.is(help.code, 0, help.stderr);
  t.regex(help.stdout, /kubectl otter egress/);
  const diff = await exec(
    KUBECTL,
    [
      "otter",
      "egress",
      "diff",
      "--intents",
      resolve("examples/intents"),
      "--observed",
      resolve("examples/observed/snapshot.yaml"),
      "--now",
      "2026-11-25T10:00:00Z",
    ],
    env,
  );
  t.is(diff.code, 1, diff.stderr);
  t.regex(diff.stdout, /missing +sts\.eu-west-2\.amazonaws\.com/);
  t.is(diff.stderr, "", "no warning from the runtime");
  // The Kubernetes client is an asset of the binary, evaluated when the cluster is read: it
  // loads, and reaches for the API server.
  const kubeconfig = join(dir, "kubeconfig");
  writeFileSync(
    kubeconfig,
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]",
      "users: [{name: u, user: {token: t}}]",
      "contexts: [{name: x, context: {cluster: c, user: u}}]",
      "current-context: x",
      "",
    ].join("\n"),
  );
  const cluster = await exec(KUBECTL, ["otter", "egress", "list", "--kubeconfig", kubeconfig], env);
  t.is(cluster.code, 2);
  t.regex(cluster.stderr, /^error: cannot reach the Kubernetes API at https:\/\/127\.0\.0\.1:1: /);
});
