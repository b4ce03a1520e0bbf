/** Parsing of `s3://bucket/prefix` and `https://endpoint/bucket/prefix` source URLs. */

export interface ParsedSourceUrl {
  bucket: string;
  /** Set for a single archive object (`.tar`, `.tar.gz`, `.tgz`, `.tar.zst`). */
  key?: string;
  /** Set for a prefix: ends with `/`, or empty for the whole bucket. */
  prefix?: string;
  /** `https://host:port` for path-style URLs; absent for `s3://`. */
  endpoint?: string;
  /** True for `https://endpoint/bucket/...` URLs. */
  pathStyle: boolean;
  /** `tar` when the key looks like an archive. */
  format?: 'tar';
}

export class SourceUrlError extends Error {
  constructor(value: string, why: string) {
    super(`invalid source URL "${value}": ${why}`);
    this.name = 'SourceUrlError';
  }
}

export const ARCHIVE_SUFFIXES = [
  '.tar',
  '.tar.gz',
  '.tgz',
  '.tar.zst',
  '.tar.zstd',
];

export function looksLikeArchive(key: string): boolean {
  const lower = key.toLowerCase();
  return ARCHIVE_SUFFIXES.some(suffix => lower.endsWith(suffix));
}

/**
 * Why `value` cannot be an S3 endpoint, or undefined: an http(s) URL without credentials (userinfo
 * would be sent and shown wherever the endpoint is), query or fragment. The one rule for every input.
 */
export function endpointProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an http:// or https:// URL';
  }
  if (
    !/^https?:\/\//i.test(value) ||
    !['http:', 'https:'].includes(url.protocol)
  )
    return 'must be an http:// or https:// URL';
  if (url.username || url.password || /^[^/]*\/\/[^/?#]*@/.test(value))
    return 'must not carry credentials (user:password@); use a Secret';
  if (url.search || url.hash || /[?#]/.test(value))
    return 'must not have a query or fragment';
  return undefined;
}

/** Returns why `bucket` breaks S3's bucket naming rules, or undefined. */
export function bucketNameProblem(bucket: string): string | undefined {
  if (bucket.length < 3 || bucket.length > 63)
    return 'must be 3 to 63 characters';
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(bucket)) {
    return 'must be lower case letters, digits, "." and "-", starting and ending with a letter or digit';
  }
  if (bucket.includes('..')) return 'must not contain ".."';
  if (/^\d+\.\d+\.\d+\.\d+$/.test(bucket))
    return 'must not look like an IP address';
  return undefined;
}

/**
 * `s3://bucket/path` or `http(s)://host[:port]/bucket/path`. A path that looks like an archive
 * is a single key; any other path is a prefix, and a prefix always ends with `/` so that
 * `s3://b/data` never matches `s3://b/database/...`.
 */
export function parseSourceUrl(value: string): ParsedSourceUrl {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new SourceUrlError(
      value,
      'expected s3://BUCKET/PREFIX or https://ENDPOINT/BUCKET/PREFIX',
    );
  }
  if (url.search || url.hash)
    throw new SourceUrlError(value, 'must not have a query or fragment');
  if (url.protocol === 'https:' || url.protocol === 'http:') {
    const why = endpointProblem(value);
    if (why) throw new SourceUrlError(value, why);
  }
  let bucket: string;
  let path: string;
  let endpoint: string | undefined;
  if (url.protocol === 's3:') {
    bucket = url.hostname;
    path = decodeURIComponent(url.pathname.replace(/^\//, ''));
  } else if (url.protocol === 'https:' || url.protocol === 'http:') {
    endpoint = `${url.protocol}//${url.host}`;
    const rest = url.pathname.replace(/^\//, '');
    const slash = rest.indexOf('/');
    bucket = decodeURIComponent(slash === -1 ? rest : rest.slice(0, slash));
    path = slash === -1 ? '' : decodeURIComponent(rest.slice(slash + 1));
  } else {
    throw new SourceUrlError(
      value,
      `unsupported scheme "${url.protocol}"; use s3:// or https://`,
    );
  }
  if (!bucket) throw new SourceUrlError(value, 'no bucket');
  const problem = bucketNameProblem(bucket);
  if (problem) throw new SourceUrlError(value, `bucket "${bucket}" ${problem}`);
  const pathStyle = endpoint !== undefined;
  if (path && !path.endsWith('/') && looksLikeArchive(path)) {
    return { bucket, key: path, endpoint, pathStyle, format: 'tar' };
  }
  const prefix = path === '' || path.endsWith('/') ? path : `${path}/`;
  return { bucket, prefix, endpoint, pathStyle };
}
