import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadAll } from "js-yaml";

/**
 * The floor: only read the same files and parse them with js-yaml's loadAll.
 * Usage: node dist/bench/floor.js INTENTS_DIR OBSERVED_FILE
 */
const [intentsDir, observedFile] = process.argv.slice(2) as [string, string];
let docs = 0;
const walk = (dir: string) => {
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name < b.name ? -1 : 1,
  )) {
    const full = join(dir, e.name);
    if (e.isDirectory()) walk(full);
    else docs += loadAll(readFileSync(full, "utf8")).length;
  }
};
walk(intentsDir);
docs += loadAll(readFileSync(observedFile, "utf8")).length;
process.stdout.write(`${docs}\n`);
