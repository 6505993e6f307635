import type { Verdict } from "../verdicts.js";

/** Terminal styling: ANSI colours when `color` is on, plain text otherwise. */
export interface Style {
  readonly color: boolean;
  /** Columns a table may take (the terminal's, or 80); -o wide: unlimited. */
  readonly width?: number;
  /** -o wide: every column, nothing shortened. */
  readonly wide?: boolean;
}

const CODES = {
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  cyan: [36, 39],
  dim: [2, 22],
  bold: [1, 22],
} as const;

export type Paint = keyof typeof CODES;

export function paint(style: Style, how: Paint, text: string): string {
  if (!style.color) return text;
  const [on, off] = CODES[how];
  return `\u001b[${on}m${text}\u001b[${off}m`;
}

export const VERDICT_PAINT: Record<Verdict, Paint> = {
  missing: "red",
  unnecessary: "yellow",
  unverified: "cyan",
  matched: "green",
  "n/a": "dim",
};

/** Visible width of a string that may hold ANSI codes. */
export function visibleLength(text: string): number {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[\d+m/g, "").length;
}

/** Lays out rows as columns separated by two spaces; the last column is not padded. */
export function columns(rows: readonly (readonly string[])[], indent = ""): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, visibleLength(cell));
    });
  }
  return rows.map(
    (row) =>
      indent +
      row
        .map((cell, i) =>
          i === row.length - 1
            ? cell
            : cell + " ".repeat((widths[i] as number) - visibleLength(cell)),
        )
        .join("  ")
        .trimEnd(),
  );
}

/** Text cut to `max` columns, the cut marked with "…" (at the end, or in the middle). */
export function shorten(text: string, max: number, where: "end" | "middle" = "end"): string {
  if (text.length <= max) return text;
  if (max <= 1) return "…".slice(0, max);
  if (where === "end") return `${text.slice(0, max - 1)}…`;
  const head = Math.ceil((max - 1) / 2);
  return `${text.slice(0, head)}…${text.slice(text.length - (max - 1 - head))}`;
}

/**
 * Columns that fit `width` (with `indent`): when they do not, the columns named in `give`
 * (cells without ANSI codes) are cut, in order, the first down to `min` columns before the next.
 */
export function fitColumns(
  rows: readonly (readonly string[])[],
  width: number | undefined,
  give: ReadonlyArray<{ column: number; min: number; where?: "end" | "middle" }>,
  indent = "",
): string[] {
  if (width === undefined) return columns(rows, indent);
  const widths = (rs: readonly (readonly string[])[]) => {
    const w: number[] = [];
    for (const row of rs)
      row.forEach((cell, i) => (w[i] = Math.max(w[i] ?? 0, visibleLength(cell))));
    return w;
  };
  let out = rows.map((r) => [...r]);
  for (const g of give) {
    const w = widths(out);
    const total = indent.length + w.reduce((a, b) => a + b, 0) + 2 * (w.length - 1);
    const over = total - width;
    if (over <= 0) break;
    const to = Math.max(g.min, (w[g.column] ?? 0) - over);
    out = out.map((row, i) =>
      i === 0 ? row : row.map((cell, c) => (c === g.column ? shorten(cell, to, g.where) : cell)),
    );
  }
  return columns(out, indent);
}
