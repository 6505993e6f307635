import { spawnSync } from "node:child_process";
import {
  chmodSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "ava";
import { load } from "js-yaml";
import { EXAMPLE_INPUTS, runCli } from "./helpers/cli.js";

/**
 * `diff --fix` and `--fix --dry-run` on copies of the example: what is written, that nothing
 * else moves, and that the next diff is clean.
 */

/** A copy of examples/ in a fresh folder; commands run there with relative paths. */
function workspace(): string {
  const dir = mkdtempSync(join(tmpdir(), "otter-fix-"));
  cpSync("examples", join(dir, "examples"), { recursive: true });
  return dir;
}

function diff(cwd: string, ...extra: string[]) {
  return runCli(["egress", "diff", ...EXAMPLE_INPUTS, ...extra], { cwd });
}

const WORKER = "examples/intents/joke-worker.yaml";

test("--fix adds the missing target, removes the unnecessary one, and leaves every other line as it was", async (t) => {
  const dir = workspace();
  const before = readFileSync(join(dir, WORKER), "utf8");
  const server = readFileSync(join(dir, "examples/intents/joke-server.yaml"), "utf8");
  const r = await diff(dir, "--fix");
  t.is(r.code, 0, r.stderr);
  t.is(
    r.stdout,
    `fixed ${WORKER}: added sts.eu-west-2.amazonaws.com (port 443); removed api.jokes.example.com\n`,
  );
  const after = readFileSync(join(dir, WORKER), "utf8");
  // Lines 27-30 are the unused target and the comment above it; the new target is appended
  // after the last one, in the file's own layout. Every other byte stays.
  const lines = before.split("\n");
  const expected = [
    ...lines.slice(0, 26),
    ...lines.slice(30, lines.length - 1),
    "    - internet:",
    "        domains:",
    "          - sts.eu-west-2.amazonaws.com",
    "        ports:",
    "          - 443",
    "",
  ].join("\n");
  t.is(after, expected);
  t.true(after.startsWith("# The worker fetches jokes from OpenAI"));
  t.true(after.includes("    # Added this week for the joke archive.\n"));
  t.false(after.includes("The old joke API"));
  t.is(readFileSync(join(dir, "examples/intents/joke-server.yaml"), "utf8"), server);

  const again = await diff(dir, "-o", "json");
  t.is(again.code, 0, "nothing missing or unnecessary is left");
  const summary = JSON.parse(again.stdout).summary;
  t.like(summary, { missing: 0, unnecessary: 0, matched: 6 });
});

test("--fix --dry-run prints a unified diff that patch applies to the same result, and writes nothing", async (t) => {
  const dir = workspace();
  const before = readFileSync(join(dir, WORKER), "utf8");
  const dry = await diff(dir, "--fix", "--dry-run");
  t.is(dry.code, 1, "like kubectl diff: 1 when there are changes");
  t.regex(
    dry.stdout,
    /^--- a\/examples\/intents\/joke-worker\.yaml\n\+\+\+ b\/examples\/intents\/joke-worker\.yaml\n@@ /,
  );
  t.regex(dry.stdout, /^- {10}- api\.jokes\.example\.com$/m);
  t.regex(dry.stdout, /^\+ {10}- sts\.eu-west-2\.amazonaws\.com$/m);
  t.is(readFileSync(join(dir, WORKER), "utf8"), before, "a dry run changes nothing");

  const patched = workspace();
  const p = spawnSync("patch", ["-p1", "--quiet"], {
    cwd: patched,
    input: dry.stdout,
    encoding: "utf8",
  });
  t.is(p.status, 0, p.stderr + p.stdout);
  const fixed = await diff(dir, "--fix");
  t.is(fixed.code, 0);
  t.is(readFileSync(join(patched, WORKER), "utf8"), readFileSync(join(dir, WORKER), "utf8"));

  const clean = await diff(dir, "--fix", "--dry-run");
  t.is(clean.code, 0);
  t.is(clean.stdout, "");
});

test("--fix writes v1 calls in v1 syntax and edits flow-style lists in place", async (t) => {
  const dir = workspace();
  writeFileSync(
    join(dir, WORKER),
    [
      "apiVersion: k8s.otterize.com/v1alpha3",
      "kind: ClientIntents",
      "metadata: {name: joke-worker, namespace: dev}",
      "spec:",
      "  service: {name: joke-worker, kind: Deployment}",
      "  calls:",
      "    - {name: nats, kind: StatefulSet}  # the queue",
      "    - name: svc:redis",
      "    - type: internet",
      '      internet: {domains: [api.openai.com, api.jokes.example.com, "dynamodb.eu-west-2.amazonaws.com"], ports: [443]}',
      "    - type: internet",
      "      internet:",
      '        domains: ["*.s3.eu-west-2.amazonaws.com"]  # archive',
      "",
    ].join("\n"),
  );
  const r = await diff(dir, "--fix");
  t.is(r.code, 0, r.stderr);
  t.is(
    readFileSync(join(dir, WORKER), "utf8"),
    [
      "apiVersion: k8s.otterize.com/v1alpha3",
      "kind: ClientIntents",
      "metadata: {name: joke-worker, namespace: dev}",
      "spec:",
      "  service: {name: joke-worker, kind: Deployment}",
      "  calls:",
      "    - {name: nats, kind: StatefulSet}  # the queue",
      "    - name: svc:redis",
      "    - type: internet",
      '      internet: {domains: [api.openai.com, "dynamodb.eu-west-2.amazonaws.com"], ports: [443]}',
      "    - type: internet",
      "      internet:",
      '        domains: ["*.s3.eu-west-2.amazonaws.com"]  # archive',
      "    - type: internet",
      "      internet:",
      "        domains:",
      "          - sts.eu-west-2.amazonaws.com",
      "        ports:",
      "          - 443",
      "",
    ].join("\n"),
  );
  t.is((await diff(dir)).code, 0);
});

test("--fix keeps a JSON intents file JSON", async (t) => {
  const dir = workspace();
  const json = join(dir, "examples/intents/joke-worker.json");
  writeFileSync(
    json,
    JSON.stringify(load(readFileSync(join(dir, WORKER), "utf8")), null, 2) + "\n",
  );
  spawnSync("rm", [join(dir, WORKER)]);
  const r = await diff(dir, "--fix");
  t.is(r.code, 0, r.stderr);
  const after = JSON.parse(readFileSync(json, "utf8"));
  const domains = after.spec.targets.flatMap(
    (x: { internet?: { domains?: string[] } }) => x.internet?.domains ?? [],
  );
  t.true(domains.includes("sts.eu-west-2.amazonaws.com"));
  t.false(domains.includes("api.jokes.example.com"));
  t.is((await diff(dir)).code, 0);
});

test("--fix writes a new ClientIntents beside the others for a workload that has none", async (t) => {
  const dir = workspace();
  const snapshot = join(dir, "examples/observed/snapshot.yaml");
  writeFileSync(
    snapshot,
    readFileSync(snapshot, "utf8") +
      [
        "  - apiVersion: egress.otter.dev/v1alpha1",
        "    kind: ObservedEgress",
        "    metadata: {name: joke-cron, namespace: dev}",
        "    spec: {workload: {name: joke-cron, kind: CronJob}}",
        "    status:",
        '      observingSince: "2026-11-01T00:00:00Z"',
        "      destinations:",
        "        - internet: {dnsName: backup.example.com, ips: [192.0.2.10], ports: [22]}",
        '          firstSeen: "2026-11-02T00:00:00Z"',
        '          lastSeen: "2026-11-25T03:00:00Z"',
        "",
      ].join("\n"),
  );
  const r = await diff(dir, "--include-undeclared", "--fix");
  t.is(r.code, 0, r.stderr);
  t.regex(
    r.stdout,
    /^created examples\/intents\/joke-cron\.yaml: added backup\.example\.com \(port 22\)$/m,
  );
  t.deepEqual(load(readFileSync(join(dir, "examples/intents/joke-cron.yaml"), "utf8")), {
    apiVersion: "k8s.otterize.com/v2beta1",
    kind: "ClientIntents",
    metadata: { name: "joke-cron", namespace: "dev" },
    spec: {
      workload: { name: "joke-cron", kind: "CronJob" },
      targets: [{ internet: { domains: ["backup.example.com"], ports: [22] } }],
    },
  });
  t.is((await diff(dir, "--include-undeclared")).code, 0);
});

test("--fix refuses, changing nothing, a file that uses YAML aliases (an edit could cut one from its anchor)", async (t) => {
  const dir = workspace();
  // The unused target anchors its ports; a kept target after it refers to them.
  const text = readFileSync(join(dir, WORKER), "utf8")
    .replace(
      "          - api.jokes.example.com\n",
      "          - api.jokes.example.com\n        ports: &https\n          - 443\n",
    )
    .replace(
      '          - "*.s3.eu-west-2.amazonaws.com"\n        ports:\n          - 443\n',
      '          - "*.s3.eu-west-2.amazonaws.com"\n        ports: *https\n',
    );
  t.true(text.includes("*https"));
  writeFileSync(join(dir, WORKER), text);
  const server = join(dir, "examples/intents/joke-server.yaml");
  const serverBefore = readFileSync(server, "utf8");
  const r = await diff(dir, "--fix");
  t.is(r.code, 2);
  t.regex(
    r.stderr,
    /^error: examples\/intents\/joke-worker\.yaml: --fix does not edit files that use YAML aliases/m,
  );
  t.is(readFileSync(join(dir, WORKER), "utf8"), text);
  t.is(readFileSync(server, "utf8"), serverBefore);
  t.false(existsSync(join(dir, "examples/intents/.joke-worker.yaml.otter-fix")));
});

test("--fix refuses stdin, -o, and --dry-run without --fix", async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [["--intents", "-", "--fix"], /--fix cannot write to stdin/],
    [["--intents", "examples/intents", "--fix", "-o", "json"], /cannot be combined with -o/],
    [["--intents", "examples/intents", "--dry-run"], /--dry-run only applies with --fix/],
  ];
  for (const [args, message] of cases) {
    const r = await runCli([
      "egress",
      "diff",
      ...args,
      "--observed",
      "examples/observed/snapshot.yaml",
    ]);
    t.is(r.code, 2);
    t.regex(r.stderr, message);
  }
});

test("--fix writes through a symlink and keeps the file's permissions", async (t) => {
  const dir = workspace();
  const real = join(dir, "real");
  mkdirSync(real);
  renameSync(join(dir, WORKER), join(real, "joke-worker.yaml"));
  chmodSync(join(real, "joke-worker.yaml"), 0o640);
  symlinkSync("../../real/joke-worker.yaml", join(dir, WORKER));
  const r = await diff(dir, "--fix");
  t.is(r.code, 0, r.stderr);
  t.true(lstatSync(join(dir, WORKER)).isSymbolicLink());
  t.regex(readFileSync(join(real, "joke-worker.yaml"), "utf8"), /sts\.eu-west-2\.amazonaws\.com/);
  t.is(statSync(join(real, "joke-worker.yaml")).mode & 0o777, 0o640);
});

test("--fix --dry-run names a file with spaces so that patch applies it", async (t) => {
  const dir = workspace();
  const spaced = "examples/intents/joke worker.yaml";
  renameSync(join(dir, WORKER), join(dir, spaced));
  const dry = await diff(dir, "--fix", "--dry-run");
  t.is(dry.code, 1);
  t.regex(dry.stdout, /^--- a\/examples\/intents\/joke worker\.yaml\t$/m);
  const p = spawnSync("patch", ["-p1", "--quiet"], {
    cwd: dir,
    input: dry.stdout,
    encoding: "utf8",
  });
  t.is(p.status, 0, p.stderr + p.stdout);
  t.regex(readFileSync(join(dir, spaced), "utf8"), /sts\.eu-west-2\.amazonaws\.com/);
});

test("an address a missing name answered is that name's finding; --fix adds the name, not the address", async (t) => {
  const dir = workspace();
  const worker = join(dir, WORKER);
  writeFileSync(
    worker,
    readFileSync(worker, "utf8").replace(
      "    - internet:\n        domains:\n          - dynamodb.eu-west-2.amazonaws.com\n        ports:\n          - 443\n",
      "",
    ),
  );
  const json = await diff(dir, "-o", "json");
  const missing = (
    JSON.parse(json.stdout) as {
      workloads: Array<{ findings: Array<{ verdict: string; target: unknown }> }>;
    }
  ).workloads
    .flatMap((w) => w.findings)
    .filter((f) => f.verdict === "missing")
    .map((f) => JSON.stringify(f.target));
  // 52.94.56.47 was seen without a name, and it is what dynamodb.eu-west-2 answered.
  t.false(
    missing.some((m) => m.includes("52.94.56.47")),
    missing.join("\n"),
  );
  t.true(missing.some((m) => m.includes("dynamodb.eu-west-2.amazonaws.com")));
  const r = await diff(dir, "--fix");
  t.is(r.code, 0, r.stderr);
  t.false(readFileSync(worker, "utf8").includes("52.94.56.47"));
  t.is((await diff(dir)).code, 0);
});

test("--fix adds a port outside a declared target's ports to that target", async (t) => {
  const dir = workspace();
  const snapshot = join(dir, "examples/observed/snapshot.yaml");
  writeFileSync(
    snapshot,
    readFileSync(snapshot, "utf8").replace(
      "dnsName: api.openai.com, ips: [104.18.7.192, 104.18.6.192], ports: [443] }",
      "dnsName: api.openai.com, ips: [104.18.7.192, 104.18.6.192], ports: [443, 8443] }",
    ),
  );
  const r = await diff(dir, "--fix");
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /added .*port 8443 of api\.openai\.com/);
  const after = readFileSync(join(dir, WORKER), "utf8");
  t.regex(after, / {10}- api\.openai\.com\n {8}ports:\n {10}- 443\n {10}- 8443\n/);
  t.is(after.match(/api\.openai\.com/g)?.length, 1, "no second target");
  t.is((await diff(dir)).code, 0);
});
