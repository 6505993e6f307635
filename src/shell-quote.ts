/** A word for a POSIX shell: as it is when it is plain, else single-quoted. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9._/:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}
