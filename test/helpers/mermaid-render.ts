import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { pathToFileURL } from "node:url";

/**
 * Renders Mermaid diagrams with the real Mermaid library (node_modules/mermaid) in a real headless
 * chromium, so tests can assert that generated Mermaid renders without error.
 *
 * One chromium per batch loads a temporary page that calls `mermaid.render` for every diagram
 * and appends the results, as JSON, to the DOM, which `--dump-dom` prints. Chromium dumps the DOM
 * only once the page has used up its virtual time budget; virtual time does not pass while
 * scripts run and skips ahead over idle timers, so the dump comes after the last render however
 * slow the machine is. A page that has not finished by then is reported as an error, and a
 * wall-clock timeout kills chromium if it hangs.
 */

export type MermaidResult = { ok: true; svg: string } | { ok: false; error: string };

const MERMAID_JS = createRequire(import.meta.url).resolve("mermaid/dist/mermaid.min.js");
const VIRTUAL_TIME_BUDGET_MS = 60_000;
const RESULTS = /<script id="mermaid-results" type="application\/json">([^<]*)<\/script>/;

/** The chromium binary: env CHROMIUM, else `chromium` or `chromium-browser` on PATH. */
export function chromiumPath(): string | undefined {
  if (process.env.CHROMIUM) return process.env.CHROMIUM;
  for (const name of ["chromium", "chromium-browser"]) {
    for (const dir of (process.env.PATH ?? "").split(delimiter)) {
      if (!dir) continue;
      try {
        accessSync(join(dir, name), constants.X_OK);
        return join(dir, name);
      } catch {
        // not in this directory
      }
    }
  }
  return undefined;
}

// Runs in the page. `<` is escaped in the JSON so that it cannot end the script element early.
const PAGE_SCRIPT = String.raw`
(async () => {
  let results;
  try {
    mermaid.initialize({ startOnLoad: false });
    const diagrams = JSON.parse(document.getElementById("mermaid-diagrams").textContent);
    results = [];
    for (const [i, text] of diagrams.entries()) {
      try {
        results.push({ ok: true, svg: (await mermaid.render("mermaid-" + i, text)).svg });
      } catch (e) {
        results.push({ ok: false, error: (e && e.message) || String(e) || "unknown error" });
      }
    }
  } catch (e) {
    results = { fatal: String((e && e.stack) || e) };
  }
  const out = document.createElement("script");
  out.id = "mermaid-results";
  out.type = "application/json";
  out.textContent = JSON.stringify(results).replace(/</g, "\\u003c");
  document.body.append(out);
})();
`;

function page(diagrams: readonly string[]): string {
  const json = JSON.stringify(diagrams).replace(/</g, "\\u003c");
  return `<!doctype html>
<html><head><meta charset="utf-8"></head><body>
<script src="${pathToFileURL(MERMAID_JS).href}"></script>
<script id="mermaid-diagrams" type="application/json">${json}</script>
<script>${PAGE_SCRIPT}</script>
</body></html>
`;
}

/** Renders every diagram in one chromium; one result per diagram, in order. */
export async function renderMermaid(
  diagrams: readonly string[],
  timeoutMs = 60_000,
): Promise<MermaidResult[]> {
  if (diagrams.length === 0) return [];
  const bin = chromiumPath();
  if (!bin) throw new Error("chromium is not installed: apt-get install chromium");
  const dir = await mkdtemp(join(tmpdir(), "mermaid-render-"));
  try {
    const html = join(dir, "page.html");
    await writeFile(html, page(diagrams));
    const args = [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--no-first-run",
      `--user-data-dir=${join(dir, "profile")}`,
      `--virtual-time-budget=${VIRTUAL_TIME_BUDGET_MS}`,
      "--dump-dom",
      pathToFileURL(html).href,
    ];
    const { code, stdout, stderr } = await run(bin, args, timeoutMs);
    const match = RESULTS.exec(stdout);
    if (!match) {
      throw new Error(`mermaid did not finish in chromium (exit ${code}):\n${stderr.slice(-2000)}`);
    }
    const results = JSON.parse(match[1] ?? "") as MermaidResult[] | { fatal: string };
    if (!Array.isArray(results)) throw new Error(`mermaid failed in chromium: ${results.fatal}`);
    if (results.length !== diagrams.length) {
      throw new Error(`expected ${diagrams.length} results from chromium, got ${results.length}`);
    }
    return results;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function run(
  bin: string,
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // Its own process group, so that a timeout kills chromium's helper processes too.
    const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => stdout.push(d));
    child.stderr.on("data", (d: Buffer) => stderr.push(d));
    const timer = setTimeout(() => {
      try {
        if (child.pid) process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
      reject(new Error(`chromium did not finish rendering mermaid within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({
        code,
        stdout: Buffer.concat(stdout).toString("utf8"),
        stderr: Buffer.concat(stderr).toString("utf8"),
      });
    });
  });
}
