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

/** The widest visible cell of each column. */
function columnWidths(rows: readonly (readonly string[])[]): number[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, visibleLength(cell));
    });
  }
  return widths;
}

/** Lays out rows as columns separated by two spaces; the last column is not padded. */
export function columns(rows: readonly (readonly string[])[], indent = ""): string[] {
  const widths = columnWidths(rows);
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
 * Columns that fit `width` (with `indent`): when they do not, the cells of one column below
 * the header (cells without ANSI codes) are cut, down to `min` columns at most.
 */
export function fitColumns(
  rows: readonly (readonly string[])[],
  width: number | undefined,
  cut: { column: number; min: number; where?: "end" | "middle" },
  indent = "",
): string[] {
  const widths = columnWidths(rows);
  const total = indent.length + widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1);
  if (width === undefined || total <= width) return columns(rows, indent);
  const to = Math.max(cut.min, (widths[cut.column] ?? 0) - (total - width));
  const shortened = rows.map((row, i) =>
    i === 0 ? row : row.map((cell, c) => (c === cut.column ? shorten(cell, to, cut.where) : cell)),
  );
  return columns(shortened, indent);
}
