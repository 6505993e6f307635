import { readFileSync } from "node:fs";
import test from "ava";

/** The plugin's V8 flags (ADR 15) are given in two places, which must agree. */

const root = new URL("../../", import.meta.url);

test("bin/kubectl-otter.js runs node with the flags the single binary is built with", (t) => {
  const flags = JSON.parse(
    readFileSync(new URL("cmd/plugin-exec-argv.json", root), "utf8"),
  ) as string[];
  t.true(flags.length > 0);
  const first = readFileSync(new URL("bin/kubectl-otter.js", root), "utf8").split("\n")[0];
  t.is(first, `#!/usr/bin/env -S node ${flags.join(" ")}`);
});
