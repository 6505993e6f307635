import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ExecutionContext } from "ava";

/**
 * Golden files: a rendered report compared byte for byte with the file under test/golden/,
 * kept in the format it is (SARIF, JUnit XML, Markdown) so a reviewer reads it as a user would.
 * `UPDATE_GOLDEN=1 npm test` rewrites them; review the change with git diff.
 */
export function golden(t: ExecutionContext, name: string, actual: string): void {
  const file = join(process.cwd(), "test", "golden", name);
  if (process.env.UPDATE_GOLDEN === "1" || !existsSync(file)) {
    if (process.env.CI === "true" && !existsSync(file)) t.fail(`golden file ${file} is missing`);
    writeFileSync(file, actual);
  }
  t.is(actual, readFileSync(file, "utf8"), `differs from test/golden/${name}`);
}
