/**
 * Kubernetes name rules (DNS-1123) and deterministic restore names: the one definition every package uses.
 * Which rule applies where (as the API server checks it):
 *   - DNS-1123 label, at most 63: namespaces; restore (Job) names, further limited to MAX_RESTORE_NAME_LENGTH;
 *     the Backstage plugin's cluster and source names in config.
 *   - DNS-1123 subdomain, at most 253: PVCs, Secrets, ServiceAccounts, StorageClasses.
 */

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN =
  /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Longest restore name: the Job name, so that pod names and the job-name label stay within 63 characters. */
export const MAX_RESTORE_NAME_LENGTH = 52;

/** Returns why `value` is not a DNS-1123 label (namespaces, restore names), or undefined when it is one. */
export function dns1123LabelProblem(
  value: string,
  maxLength = 63,
): string | undefined {
  if (value.length === 0) return 'must not be empty';
  if (value.length > maxLength)
    return `must be at most ${maxLength} characters (got ${value.length})`;
  if (!DNS1123_LABEL.test(value)) {
    return 'must consist of lower case letters, digits and "-", and start and end with a letter or digit';
  }
  return undefined;
}

/** Returns why `value` is not a DNS-1123 subdomain (PVC, Secret, StorageClass names), or undefined. */
export function dns1123SubdomainProblem(value: string): string | undefined {
  if (value.length === 0) return 'must not be empty';
  if (value.length > 253)
    return `must be at most 253 characters (got ${value.length})`;
  if (!DNS1123_SUBDOMAIN.test(value)) {
    return 'must consist of lower case letters, digits, "-" and ".", and start and end with a letter or digit';
  }
  return undefined;
}

/**
 * A 64-bit FNV-1a hash of a string's UTF-8 bytes, as 16 hex digits. Isomorphic and synchronous
 * (WebCrypto is async), used for deterministic names, not for security.
 */
export function stableHash(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let hash = 0xcbf29ce484222325n;
  const prime = 0x100000001b3n;
  for (const byte of bytes) {
    hash ^= BigInt(byte);
    hash = (hash * prime) & 0xffffffffffffffffn;
  }
  return hash.toString(16).padStart(16, '0');
}

/** JSON with object keys sorted, so equal values give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(
        // Keys of one object are unique, so the order is total without an equal case.
        Object.entries(v as Record<string, unknown>).sort(([a], [b]) =>
          a < b ? -1 : 1,
        ),
      );
    }
    return v;
  });
}

/**
 * `restore-<pvc>-<hash8>`: readable, at most MAX_RESTORE_NAME_LENGTH characters, and the same for the
 * same request, so that creating the same request twice finds the first restore.
 */
export function deriveRestoreName(
  pvc: string,
  requestWithoutName: unknown,
): string {
  const hash = stableHash(canonicalJson(requestWithoutName)).slice(0, 8);
  const room = MAX_RESTORE_NAME_LENGTH - 'restore--'.length - hash.length;
  const stem = pvc
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .slice(0, room)
    .replace(/^-+|-+$/g, '');
  return stem ? `restore-${stem}-${hash}` : `restore-${hash}`;
}
