/**
 * A string that holds only its own characters. A string cut from a larger one (what js-yaml
 * gives for every scalar, a slice of the text) keeps that whole text alive in V8 as long as it
 * is held: a name kept from a snapshot's item kept the item's whole text, and all of them the
 * whole snapshot. Values held beyond their parse (shared names, addresses, caches' keys) are
 * copied once through this.
 */
export function ownCopy(text: string): string {
  // V8 copies strings shorter than 13 characters instead of slicing them.
  if (text.length < 13) return text;
  // Joining makes a new string, and slicing it flattens it into one of its own.
  return ` ${text}`.slice(1);
}
