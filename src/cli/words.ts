/** Reading a command line's words where no parser has run (shell completion). */

/** The last value a flag was given among the words (-n dev, -ndev, -n=dev, --namespace=dev). */
export function flagIn(words: readonly string[], long: string, short?: string): string | undefined {
  let value: string | undefined;
  words.forEach((w, i) => {
    if (w === `--${long}` || (short && w === `-${short}`)) value = words[i + 1];
    else if (w.startsWith(`--${long}=`)) value = w.slice(long.length + 3);
    else if (short && w.startsWith(`-${short}`) && w.length > 2) {
      value = w.slice(2).replace(/^=/, "");
    }
  });
  return value;
}
