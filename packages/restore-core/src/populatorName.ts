/**
 * The name the populator gives a restore: its Job and prime PVC are `prime-<uid of the user's PVC>`
 * (primePvcName). Apart, without imports, so that reading restores (readRestores.ts) can tell one
 * without depending on the populator's API calls.
 */

/** Whether `name` is one the populator gives its restores (primePvcName): `prime-<uid>`. */
export function isPopulatorRestoreName(name: string): boolean {
  return /^prime-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(
    name,
  );
}

/** The uid of the user's PVC that a populator restore's name carries; undefined for other names. */
export function populatorRestorePvcUid(name: string): string | undefined {
  return isPopulatorRestoreName(name) ? name.slice('prime-'.length) : undefined;
}
