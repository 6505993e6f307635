import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "ava";
import { BIN, writeUnreachableKubeconfig } from "./helpers/cli.js";

/**
 * A command that reads the cluster loads the Kubernetes client as the one file `npm run build`
 * bundles (ADR 16), not the client's ~1,900 modules; and that file is a working client.
 */

const dir = mkdtempSync(join(tmpdir(), "otter-plugin-client-"));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
// Counts the modules loaded from the client's package, and says so on exit.
const counter = join(dir, "count-client-modules.mjs");
writeFileSync(
  counter,
  `import { registerHooks } from "node:module";
import { writeSync } from "node:fs";
let loaded = 0;
registerHooks({
  resolve(specifier, context, next) {
    const r = next(specifier, context);
    if (r.url.includes("/node_modules/@kubernetes/client-node/")) loaded++;
    return r;
  },
});
process.on("exit", () => writeSync(2, "client-node modules loaded: " + loaded + "\\n"));
`,
);
// A cluster nobody listens at: the client is loaded, configured and makes its request.
const kubeconfig = writeUnreachableKubeconfig(join(dir, "kubeconfig"));

test("diff against a cluster loads the bundled client, which makes the request", (t) => {
  const r = spawnSync(
    process.execPath,
    ["--import", counter, BIN, "egress", "diff", "--kubeconfig", kubeconfig],
    { encoding: "utf8", env: { ...process.env, NO_COLOR: "" } },
  );
  t.is(r.status, 2, r.stderr);
  t.regex(
    r.stderr,
    /^error: cannot reach the Kubernetes API at https:\/\/127\.0\.0\.1:2: connect ECONNREFUSED/m,
  );
  t.regex(r.stderr, /^client-node modules loaded: 0$/m);
});
