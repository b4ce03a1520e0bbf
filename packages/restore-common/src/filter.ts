/**
 * Include/exclude globs on keys relative to the source prefix, the same for sizing (core), the
 * restore itself (job program) and previews (portal). picomatch syntax; `dot` files match `*`.
 */
import picomatch from 'picomatch/posix';

export type KeyFilter = (relativeKey: string) => boolean;

export function createKeyFilter(options: {
  include?: readonly string[];
  exclude?: readonly string[];
}): KeyFilter {
  const include = options.include?.length
    ? picomatch([...options.include], { dot: true })
    : undefined;
  const exclude = options.exclude?.length
    ? picomatch([...options.exclude], { dot: true })
    : undefined;
  return key => (include ? include(key) : true) && !(exclude && exclude(key));
}

/** A key's path below the prefix (`prefix` ends with `/` or is empty). */
export function relativeKey(key: string, prefix: string): string {
  return prefix && key.startsWith(prefix) ? key.slice(prefix.length) : key;
}
