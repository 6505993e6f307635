import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "ava";
import { CRDS_DIR_VARIABLE, otterizeCrd } from "./controlplane/crds.js";
import { dnstapProto } from "./helpers/dnstap-proto.js";

/**
 * What the tests read from outside the repository, each from one helper: Otterize's CRD (no
 * registry serves it: a folder named by an environment variable) and dnstap.proto (from the Go
 * module CoreDNS is built with).
 */

test.serial("Otterize's CRD is read from the folder the environment names", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "otter-crds-"));
  const before = process.env[CRDS_DIR_VARIABLE];
  try {
    process.env[CRDS_DIR_VARIABLE] = dir;
    const e = t.throws(() => otterizeCrd());
    // Says plainly what is missing, where it looked, and how to point elsewhere.
    t.regex(e?.message ?? "", /k8s\.otterize\.com_clientintents\.yaml/);
    t.true(e?.message.includes(dir), e?.message);
    t.true(e?.message.includes(CRDS_DIR_VARIABLE), e?.message);
    t.regex(e?.message ?? "", /no package registry serves it/);
    writeFileSync(
      join(dir, "k8s.otterize.com_clientintents.yaml"),
      "kind: CustomResourceDefinition\n",
    );
    t.is(otterizeCrd(), join(dir, "k8s.otterize.com_clientintents.yaml"));
  } finally {
    if (before === undefined) delete process.env[CRDS_DIR_VARIABLE];
    else process.env[CRDS_DIR_VARIABLE] = before;
  }
});

test("dnstap.proto comes from the Go module CoreDNS is built with", (t) => {
  const file = dnstapProto();
  t.regex(file, /github\.com\/dnstap\/golang-dnstap@v\d+\.\d+\.\d+\/dnstap\.pb\/dnstap\.proto$/);
  t.regex(readFileSync(file, "utf8"), /message Dnstap \{/);
});
