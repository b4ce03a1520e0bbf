/** @jsxImportSource react */
export function EntityRestoreContent() {
  return null;
}
