import type { Verdict } from "../verdicts.js";

/** Terminal styling: ANSI colours when `color` is on, plain text otherwise. */
export interface Style {
  readonly color: boolean;
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
