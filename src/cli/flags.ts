import { UsageError } from "../errors.js";

/**
 * A kubectl-style (pflag) command line parser: `--flag value`, `--flag=value`, `-n value`,
 * `-nvalue`, `-n=value`, boolean `--flag` / `--flag=false`, repeated flags, and `--`.
 */

export interface FlagSpec {
  readonly name: string;
  readonly short?: string;
  readonly kind: "bool" | "string" | "list";
  readonly usage: string;
  readonly placeholder?: string;
}

export type FlagValues = Map<string, string | boolean | string[]>;

export interface Parsed {
  readonly flags: FlagValues;
  readonly positionals: string[];
}

function parseBool(text: string, flag: string, command: string): boolean {
  if (["true", "1", "t", "T", "TRUE", "True"].includes(text)) return true;
  if (["false", "0", "f", "F", "FALSE", "False"].includes(text)) return false;
  throw new UsageError(
    `invalid argument "${text}" for "${flag}" flag: expected true or false`,
    command,
  );
}

export function parseFlags(
  argv: readonly string[],
  specs: readonly FlagSpec[],
  command: string,
): Parsed {
  const flags: FlagValues = new Map();
  const positionals: string[] = [];
  const byName = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short as string, s]));
  const set = (spec: FlagSpec, value: string | true, shown: string) => {
    if (spec.kind === "bool") {
      flags.set(spec.name, value === true ? true : parseBool(value, shown, command));
    } else if (spec.kind === "list") {
      const list = (flags.get(spec.name) as string[] | undefined) ?? [];
      list.push(value as string);
      flags.set(spec.name, list);
    } else {
      flags.set(spec.name, value as string);
    }
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      const spec = byName.get(name);
      if (!spec) throw new UsageError(`unknown flag: --${name}`, command);
      if (eq >= 0) set(spec, arg.slice(eq + 1), `--${name}`);
      else if (spec.kind === "bool") set(spec, true, `--${name}`);
      else {
        const next = argv[i + 1];
        if (next === undefined) throw new UsageError(`flag needs an argument: --${name}`, command);
        set(spec, next, `--${name}`);
        i++;
      }
      continue;
    }
    if (arg.startsWith("-") && arg.length > 1) {
      // A group of short flags: -Ao json, -n=dev, -ndev.
      for (let j = 1; j < arg.length; j++) {
        const short = arg[j] as string;
        const spec = byShort.get(short);
        if (!spec) throw new UsageError(`unknown shorthand flag: '${short}' in ${arg}`, command);
        if (spec.kind === "bool") {
          set(spec, true, `-${short}`);
          continue;
        }
        let rest = arg.slice(j + 1);
        if (rest.startsWith("=")) rest = rest.slice(1);
        if (rest !== "") set(spec, rest, `-${short}`);
        else {
          const next = argv[i + 1];
          if (next === undefined) {
            throw new UsageError(`flag needs an argument: '${short}' in -${short}`, command);
          }
          set(spec, next, `-${short}`);
          i++;
        }
        break;
      }
      continue;
    }
    positionals.push(arg);
  }
  return { flags, positionals };
}

export function flagHelp(specs: readonly FlagSpec[]): string[] {
  const rows = specs.map((s) => {
    const names = `${s.short ? `-${s.short}, ` : "    "}--${s.name}${s.kind === "bool" ? "" : `=${s.placeholder ?? "''"}`}`;
    return [names, s.usage];
  });
  const width = Math.max(...rows.map((r) => (r[0] as string).length));
  return rows.map(([a, b]) => `    ${(a as string).padEnd(width)}  ${b}`);
}
