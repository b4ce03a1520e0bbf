/**
 * What a flag table is and what is made of it: yargs options (and so the help), the command's options
 * read from the parsed arguments (`strip-prefix` -> `stripPrefix`), and request field -> flag (so a
 * schema error names the flag). The tables themselves are in flags.ts.
 */
import type { Options } from 'yargs';

export interface FlagSpec {
  type: 'string' | 'boolean';
  describe: string;
  /** Repeatable: the value is a list. */
  array?: true;
  alias?: string;
  default?: boolean;
  /** Request fields this flag sets: a schema error at one of them (or below) names the flag. */
  fields?: readonly string[];
  /** Values shell completion offers (the request schema validates them). */
  values?: readonly string[];
  /** Reads the raw yargs value; default: by type. */
  read?: (value: unknown) => string | undefined;
}

export type FlagTable = Readonly<Record<string, FlagSpec>>;

type CamelCase<S extends string> = S extends `${infer H}-${infer T}`
  ? `${H}${Capitalize<CamelCase<T>>}`
  : S;
type ValueOf<F> = F extends { type: 'boolean' }
  ? boolean
  : F extends { array: true }
    ? string[]
    : string;

/** The options a table reads into: `{ stripPrefix?: string, include?: string[], ... }`. */
export type FlagValues<T extends FlagTable> = {
  -readonly [K in keyof T & string as CamelCase<K>]?: ValueOf<T[K]>;
};

export const str = (v: unknown) =>
  v === undefined || v === null ? undefined : String(v);
export const list = (v: unknown) =>
  v === undefined ? undefined : (Array.isArray(v) ? v : [v]).map(String);

const camelCase = (flag: string) =>
  flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** The parsed arguments -> the command's options, as the table says. */
export function readFlags<T extends FlagTable>(
  table: T,
  args: Record<string, unknown>,
): FlagValues<T> {
  const out: Record<string, unknown> = {};
  for (const [flag, spec] of Object.entries(table)) {
    const raw = args[flag];
    let value: unknown;
    if (spec.read) value = spec.read(raw);
    else if (spec.type === 'boolean') value = raw as boolean | undefined;
    else value = spec.array ? list(raw) : str(raw);
    out[camelCase(flag)] = value;
  }
  return out as FlagValues<T>;
}

/** The table as yargs options. */
export function yargsOptions(
  table: FlagTable,
  extra: Options = {},
): Record<string, Options> {
  return Object.fromEntries(
    Object.entries(table).map(([flag, s]) => [
      flag,
      {
        type: s.type,
        describe: s.describe,
        ...(s.array ? { array: true } : {}),
        ...(s.alias ? { alias: s.alias } : {}),
        ...(s.default !== undefined ? { default: s.default } : {}),
        ...extra,
      },
    ]),
  );
}

/** Request field -> flag, for every flag of `table` that sets request fields. */
export function fieldFlags(table: FlagTable): [string, string][] {
  return Object.entries(table).flatMap(([flag, s]) =>
    (s.fields ?? []).map(field => [field, `--${flag}`] as [string, string]),
  );
}
