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
 * JSON.stringify(value with value[key] = items, null, 2) in pieces: from the head to the
 * array's opening, each item (with what separates it from the one before), and the end. Big
 * reports never exist as one object tree or one string.
 */
export class JsonWithArray {
  private readonly head: string;
  private readonly tail: string;
  private readonly indent: string;
  private readonly inner: string;
  /** What goes between two items. */
  readonly separator = ",\n";

  constructor(value: Record<string, unknown>, key: string) {
    const text = JSON.stringify({ ...value, [key]: ITEMS }, null, 2);
    const at = text.indexOf(`"${ITEMS}"`);
    this.head = text.slice(0, at);
    this.tail = text.slice(at + ITEMS.length + 2);
    this.indent = /\n( *)"[^\n]*$/.exec(this.head)?.[1] ?? "";
    this.inner = `${this.indent}  `;
  }

  /** The text up to the array's first item, when `count` items follow. */
  start(count: number): string {
    return count === 0 ? `${this.head}[` : `${this.head}[\n`;
  }

  /** An item, written after `before` others. */
  item(value: unknown, before: number): string {
    const body = JSON.stringify(value, null, 2).replace(/\n/g, `\n${this.inner}`);
    return `${before === 0 ? "" : this.separator}${this.inner}${body}`;
  }

  /** The text after the array's last item, when it has `count`. */
  end(count: number): string {
    return count === 0 ? `]${this.tail}\n` : `\n${this.indent}]${this.tail}\n`;
  }
}

/** The JSON of `value` with `value[key] = items`, each item built as it is written. */
export function* jsonWithStreamedArray(
  value: Record<string, unknown>,
  key: string,
  items: Iterable<unknown>,
): Generator<string> {
  const json = new JsonWithArray(value, key);
  let count = 0;
  for (const item of items) {
    yield `${count === 0 ? json.start(1) : ""}${json.item(item, count)}`;
    count++;
  }
  yield `${count === 0 ? json.start(0) : ""}${json.end(count)}`;
}
