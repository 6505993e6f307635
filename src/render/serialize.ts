import { dump } from "js-yaml";

/** JSON and YAML writers shared by every command. */

export function renderJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + "\n";
}

export function renderYaml(value: unknown): string {
  return dump(value, { lineWidth: -1, noRefs: true });
}

/** Several objects as one multi-document YAML stream. */
export function renderYamlStream(values: readonly unknown[]): string {
  return values.map((v) => `---\n${renderYaml(v)}`).join("");
}
