import { UsageError } from "../errors.js";

/** A rate flag's value: a number above 0 ("50", "2.5"). */
export function positiveNumber(text: string, flag: string): number {
  const n = /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  if (!(n > 0)) throw new UsageError(`${flag} must be a number above 0, not "${text}"`);
  return n;
}
