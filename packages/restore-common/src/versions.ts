/**
 * `asOf`: which version of each key a restore reads, from ListObjectVersions pages. The newest version at
 * or before the instant wins; a delete marker there hides the key. Pure and page by page (memory does not
 * grow with the number of keys), so the sizer and the job can pick the same versions.
 */

/** A version or a delete marker of one key, as ListObjectVersions returns them (both lists merged). */
export interface VersionEntry<T> {
  key: string;
  lastModified: Date;
  /** Undefined for a delete marker. */
  version?: T;
}

/**
 * Returns a picker: feed it the versions and delete markers of each page in listing order; it returns the
 * chosen version of every key decided on that page. Keys come sorted, and a key's entries may continue on
 * the next page, which the picker remembers.
 */
export function versionsAsOf<T>(asOf: Date): (page: VersionEntry<T>[]) => T[] {
  let decided: string | undefined;
  return page => {
    // Versions and markers arrive in two lists: per key, newest first.
    const sorted = [...page].sort((a, b) => {
      if (a.key !== b.key) return a.key < b.key ? -1 : 1;
      return b.lastModified.getTime() - a.lastModified.getTime();
    });
    const chosen: T[] = [];
    for (const entry of sorted) {
      if (entry.key === decided) continue;
      if (entry.lastModified.getTime() > asOf.getTime()) continue;
      decided = entry.key;
      if (entry.version !== undefined) chosen.push(entry.version);
    }
    return chosen;
  };
}
