import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { findRepoRoot } from "../controlplane/controlplane.js";

/**
 * dnstap.proto, the schema CoreDNS's dnstap messages follow, as the Go module that CoreDNS is
 * built with ships it (`github.com/dnstap/golang-dnstap`, at the version the test build's
 * CoreDNS module requires): found in the Go module cache, downloaded (and checked against that
 * module's go.sum) when it is not there yet.
 */

const MODULE = "github.com/dnstap/golang-dnstap";
const PROTO = join("dnstap.pb", "dnstap.proto");

let found: string | undefined;

function go(args: string[], cwd: string): string {
  try {
    return execFileSync("go", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === "ENOENT") {
      throw new Error(
        `dnstap.proto comes from the Go module ${MODULE}, and go is not on PATH: install Go ` +
          "(the test build of the control plane and CoreDNS needs it too).",
        { cause: e },
      );
    }
    throw new Error(`go ${args.join(" ")} failed in ${cwd}: ${err.stderr ?? err.message}`, {
      cause: e,
    });
  }
}

export function dnstapProto(): string {
  if (found) return found;
  const moduleDir = join(findRepoRoot(), "test", "controlplane", "go", "coredns");
  const goMod = readFileSync(join(moduleDir, "go.mod"), "utf8");
  const version = new RegExp(`^\\s*${MODULE.replace(/\./g, "\\.")}\\s+(v\\S+)`, "m").exec(
    goMod,
  )?.[1];
  if (!version) throw new Error(`${join(moduleDir, "go.mod")} requires no ${MODULE}`);
  const cache = go(["env", "GOMODCACHE"], moduleDir).trim();
  const cached = join(cache, `${MODULE}@${version}`, PROTO);
  if (existsSync(cached)) return (found = cached);
  const info = JSON.parse(go(["mod", "download", "-json", `${MODULE}@${version}`], moduleDir)) as {
    Dir?: string;
    Error?: string;
  };
  if (!info.Dir) throw new Error(`go mod download ${MODULE}@${version}: ${info.Error ?? "no Dir"}`);
  return (found = join(info.Dir, PROTO));
}
