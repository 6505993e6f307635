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

const ITEMS = "__otter_stream_items__";

/**
 * JSON.stringify(value with value[key] = items, null, 2), produced piece by piece: the
 * head, then each item (built lazily by the iterable), then the tail. Big reports never
 * exist as one object tree or one string.
 */
export function* jsonWithStreamedArray(
  value: Record<string, unknown>,
  key: string,
  items: Iterable<unknown>,
): Generator<string> {
  const text = JSON.stringify({ ...value, [key]: ITEMS }, null, 2);
  const at = text.indexOf(`"${ITEMS}"`);
  const head = text.slice(0, at);
  const tail = text.slice(at + ITEMS.length + 2);
  const indent = /\n( *)"[^\n]*$/.exec(head)?.[1] ?? "";
  const inner = `${indent}  `;
  let first = true;
  for (const item of items) {
    const body = JSON.stringify(item, null, 2).replace(/\n/g, `\n${inner}`);
    yield `${first ? `${head}[\n` : ",\n"}${inner}${body}`;
    first = false;
  }
  yield first ? `${head}[]${tail}\n` : `\n${indent}]${tail}\n`;
}
