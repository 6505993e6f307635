import test from "ava";
import { complete, renderCompletion } from "../src/cli/complete.js";
import { COMMAND_FLAGS, parseRequest, type Invocation } from "../src/cli/invocation.js";
import { HelpRequested, parseFlags, type FlagSpec } from "../src/cli/command-line.js";
import { FLAGS as COLLECTOR_FLAGS } from "../cmd/collector-flags.js";
import { FLAGS as WEBHOOK_FLAGS } from "../cmd/webhook-flags.js";
import { UsageError } from "../src/errors.js";

/** The plugin's command line (commander, read the way kubectl reads flags): pure parses. */

function run(...argv: string[]): Invocation {
  const r = parseRequest(argv);
  if (r.kind !== "run") throw new Error(`expected a run, got ${r.kind}`);
  return r.invocation;
}

function usageError(argv: string[]): UsageError {
  const e = (() => {
    try {
      parseRequest(argv);
    } catch (err) {
      return err;
    }
    return undefined;
  })();
  if (!(e instanceof UsageError)) throw new Error(`expected a UsageError for ${argv.join(" ")}`);
  return e;
}

function help(...argv: string[]): string {
  const r = parseRequest(argv);
  if (r.kind !== "help") throw new Error(`expected help, got ${r.kind}`);
  return r.text;
}

test("-n dev, -ndev, -n=dev and --namespace=dev are the same flag", (t) => {
  for (const form of [["-n", "dev"], ["-ndev"], ["-n=dev"], ["--namespace=dev"]]) {
    t.is(run("egress", "list", ...form).kube.namespace, "dev", form.join(" "));
  }
});

test("grouped short flags: -Ao json is -A -o json", (t) => {
  const inv = run("egress", "list", "-Ao", "json");
  t.true(inv.kube.allNamespaces);
  t.is(inv.output, "json");
  t.is(run("egress", "list", "-Aojson").output, "json");
});

test("repeated flags keep every value; a repeated string flag keeps the last", (t) => {
  const inv = run("egress", "diff", "-f", "a.yaml", "--intents", "b/", "--intents=c.yaml");
  t.deepEqual(inv.intents, ["a.yaml", "b/", "c.yaml"]);
  t.is(run("egress", "list", "-o", "json", "-o", "yaml").output, "yaml");
});

test("booleans: --flag, --flag=true and --flag=false; anything else is an error", (t) => {
  const base = ["egress", "diff", "--intents", "i/"];
  t.true(run(...base, "--include-undeclared").includeUndeclared);
  t.true(run(...base, "--include-undeclared=true").includeUndeclared);
  t.false(run(...base, "--include-undeclared", "--include-undeclared=false").includeUndeclared);
  t.false(run("egress", "list", "-A=false", "-n", "dev").kube.allNamespaces);
  t.regex(
    usageError([...base, "--fix=maybe"]).message,
    /invalid argument "maybe" for "--fix" flag/,
  );
});

test("-- ends the flags: what follows is an operand", (t) => {
  t.is(run("egress", "suggest", "--", "-odd-name").workload, "-odd-name");
});

test("errors are one line in kubectl's words, naming the command's help", (t) => {
  const cases: Array<[string[], RegExp, string]> = [
    [["egress", "diff", "--bogus"], /^unknown flag: --bogus$/, "egress diff"],
    [["egress", "diff", "--obsrved", "x"], /did you mean --observed\?/, "egress diff"],
    [["egress", "list", "-x"], /^unknown shorthand flag: 'x' in -x$/, "egress list"],
    [["egress", "list", "-n"], /^flag needs an argument: --namespace$/, "egress list"],
    [["egress", "suggest", "a", "b"], /^unexpected argument "b"$/, "egress suggest"],
    [
      ["egress", "dif"],
      /^unknown command "dif" for "kubectl otter egress" \(did you mean "diff"\?\)$/,
      "egress",
    ],
    [["egres"], /did you mean "egress"\?/, ""],
  ];
  for (const [argv, message, command] of cases) {
    const e = usageError(argv);
    t.regex(e.message, message, argv.join(" "));
    t.false(e.message.includes("\n"), argv.join(" "));
    t.is(e.command ?? "", command ?? "", argv.join(" "));
  }
});

test("--fail-on: repeated flags are one list; empty, and none with verdicts, are errors", (t) => {
  const base = ["egress", "diff", "--intents", "i/"];
  t.deepEqual(
    [...run(...base, "--fail-on", "missing", "--fail-on", "unverified").failOn],
    ["missing", "unverified"],
  );
  t.deepEqual([...run(...base, "--fail-on=none").failOn], []);
  t.deepEqual([...run(...base).failOn], ["missing", "unnecessary"]);
  t.regex(usageError([...base, "--fail-on", ""]).message, /invalid value an empty verdict/);
  for (const given of [["none,missing"], ["none", "--fail-on", "missing"]]) {
    t.regex(
      usageError([...base, "--fail-on", ...given]).message,
      /none cannot be combined with verdicts/,
    );
  }
});

test("help is kubectl's layout: defaults apart from placeholders, wrapped to the width", (t) => {
  const text = help("egress", "diff", "--help");
  t.regex(text, /^ {4}--window='168h':\n\tHow far back/m);
  t.regex(text, /^ {4}--now='':\n\tJudge as of this time, an RFC 3339 time/m);
  t.regex(text, /^ {4}-f, --intents=\[\]:$/m);
  t.regex(text, /^ {4}--fail-on=\[missing,unnecessary\]:$/m);
  t.regex(text, /^ {4}--fix=false:$/m);
  t.regex(text, /^Usage:\n {2}kubectl otter egress diff /m);
  for (const line of text.split("\n").filter((l) => l.startsWith("\t"))) {
    t.true(line.length - 1 + 8 <= 80, line);
  }
  const narrow = parseRequest(["egress", "diff", "--help"], { columns: 50 });
  t.true(narrow.kind === "help" && narrow.text.split("\n").length > text.split("\n").length);
});

test("help diff, -h and --help show the same help; the groups list their commands", (t) => {
  const text = help("egress", "diff", "--help");
  t.is(help("egress", "help", "diff"), text);
  t.is(help("egress", "diff", "-h"), text);
  t.regex(help("help"), /^ {2}version +Print/m);
  t.regex(help("egress"), /^ {2}suggest +Write ClientIntents/m);
  t.deepEqual(parseRequest(["version"]), { kind: "version" });
});

test("completion: commands, flags and flag values in cobra's protocol", (t) => {
  t.is(
    renderCompletion(complete([""])).split("\n")[0],
    "egress\tCompare ClientIntents with observed egress",
  );
  t.deepEqual(
    renderCompletion(complete(["egress", "s"])),
    "suggest\tWrite ClientIntents that cover what was observed\n:4\n",
  );
  t.regex(renderCompletion(complete(["egress", "diff", "--obs"])), /^--observed\t/);
  t.is(renderCompletion(complete(["egress", "diff", "-o", "j"])), "json\njunit\n:4\n");
  t.is(renderCompletion(complete(["egress", "diff", "--output=y"])), "--output=yaml\n:4\n");
  t.is(renderCompletion(complete(["egress", "diff", "--intents", ""])), "yaml\nyml\n:8\n");
  const ns = complete(["egress", "list", "-n", "d"]);
  t.is(ns.lookup, "namespaces");
  t.is(renderCompletion(ns, ["default", "dev", "prod"]), "default\ndev\n:4\n");
  const workloads = complete(["egress", "suggest", "-ndev", "j"]);
  t.is(workloads.lookup, "workloads");
  t.is(workloads.namespace, "dev");
  t.is(renderCompletion(workloads, ["joke-worker", "api"]), "joke-worker\n:4\n");
});

test("the webhook's and the collector's --help list every flag they take, and exit 0", async (t) => {
  const { spawnSync } = await import("node:child_process");
  for (const [server, flags] of [
    ["webhook", (await import("../cmd/webhook-flags.js")).FLAGS],
    ["collector", (await import("../cmd/collector-flags.js")).FLAGS],
  ] as const) {
    const r = spawnSync(process.execPath, [`dist/cmd/${server}.js`, "--help"], {
      encoding: "utf8",
    });
    t.is(r.status, 0, r.stderr);
    t.is(r.stderr, "");
    for (const flag of flags)
      t.true(r.stdout.includes(`--${flag.name}=`), `${server}: --${flag.name}`);
    t.regex(r.stdout, new RegExp(`Usage:\\n  node dist/cmd/${server}\\.js \\[flags\\]`));
  }
});

/** A server's parsed flags and its --help, from its one declaration of flags. */
function server(flags: readonly FlagSpec[], argv: string[] = []) {
  const parsed = parseFlags(argv, flags, "server").flags;
  let text = "";
  try {
    parseFlags(["--help"], flags, "server", { description: "d", usage: "u" });
  } catch (e) {
    if (!(e instanceof HelpRequested)) throw e;
    text = e.text;
  }
  return { parsed, help: text };
}

test("a server flag left out has the default its --help shows, declared once", (t) => {
  for (const flags of [WEBHOOK_FLAGS, COLLECTOR_FLAGS]) {
    const { parsed, help } = server(flags);
    for (const spec of flags.filter((f) => f.default !== undefined)) {
      const shown = spec.kind === "list" ? `[${spec.default}]` : `'${spec.default}'`;
      t.true(help.includes(`--${spec.name}=${shown}`), `--help shows --${spec.name}=${shown}`);
      t.deepEqual(
        parsed.get(spec.name),
        spec.kind === "list" ? spec.default?.split(",") : spec.default,
        `--${spec.name}`,
      );
    }
  }
  // A flag given is its value, not the default.
  t.is(server(WEBHOOK_FLAGS, ["--window", "72h"]).parsed.get("window"), "72h");
});

test("the plugin, the webhook and the collector agree on the defaults they share", (t) => {
  const of = (flags: readonly FlagSpec[], name: string) =>
    flags.find((f) => f.name === name)?.default;
  const plugin = COMMAND_FLAGS.diff;
  // Where the collector runs (its Lease), and the window a verdict is judged over.
  t.is(of(plugin, "collector-namespace"), of(COLLECTOR_FLAGS, "namespace"));
  t.is(of(WEBHOOK_FLAGS, "collector-namespace"), of(COLLECTOR_FLAGS, "namespace"));
  t.is(of(WEBHOOK_FLAGS, "service")?.split(".")[1], of(COLLECTOR_FLAGS, "namespace"));
  for (const flags of [WEBHOOK_FLAGS, COLLECTOR_FLAGS])
    t.is(of(flags, "window"), of(plugin, "window"));
  t.is(of(WEBHOOK_FLAGS, "deny-on"), of(plugin, "fail-on"));
  t.deepEqual(run("egress", "diff").failOn, new Set(["missing", "unnecessary"]));
  t.is(run("egress", "diff").collectorNamespace, "otter-egress");
});
