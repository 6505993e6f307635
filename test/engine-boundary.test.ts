import test from "ava";
import { ESLint } from "eslint";

/**
 * ADR 1 as lint says it: under src/ (the pure engine) no I/O, no clock, no randomness; the
 * same code in a front end is fine. Checked with the project's own eslint.config.js.
 */

const eslint = new ESLint();

async function problems(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((m) => `${m.ruleId ?? "?"}: ${m.message}`);
}

const FORBIDDEN: Array<[string, string]> = [
  ["file system", 'import { readFileSync } from "node:fs";\nexport const f = readFileSync;'],
  ["file system (bare)", 'import fs from "fs";\nexport const f = fs;'],
  ["network", 'import { connect } from "node:net";\nexport const f = connect;'],
  ["HTTP", 'import { request } from "node:http";\nexport const f = request;'],
  ["HTTPS", 'import { request } from "node:https";\nexport const f = request;'],
  ["processes", 'import { execFile } from "node:child_process";\nexport const f = execFile;'],
  [
    "the cluster",
    'import { KubeConfig } from "@kubernetes/client-node";\nexport const f = KubeConfig;',
  ],
  ["randomness", 'import { randomBytes } from "node:crypto";\nexport const f = randomBytes;'],
  ["the environment", "export const f = process.env.HOME;"],
  ["the clock", "export const f = Date.now();"],
  ["the clock (new Date())", "export const f = new Date();"],
  ["Math.random", "export const f = Math.random();"],
  [
    "key generation",
    "declare const forge: any;\nexport const f = forge.pki.rsa.generateKeyPair({ bits: 2048 });",
  ],
];

for (const [what, code] of FORBIDDEN) {
  test(`src/ may not reach ${what}; a front end may`, async (t) => {
    const inEngine = await problems(code, "src/probe.ts");
    t.true(
      inEngine.some((p) => /ADR 1/.test(p)),
      `expected an ADR 1 error, got ${JSON.stringify(inEngine)}`,
    );
    const inFrontEnd = await problems(code, "cmd/probe.ts");
    t.false(
      inFrontEnd.some((p) => /ADR 1/.test(p)),
      JSON.stringify(inFrontEnd),
    );
  });
}

test("src/ may hash and parse: pure parts of node stay allowed", async (t) => {
  const code =
    'import { createHash } from "node:crypto";\nimport { domainToASCII } from "node:url";\n' +
    "export const f = [createHash, domainToASCII, new Date(0)];";
  t.deepEqual(await problems(code, "src/probe.ts"), []);
});
