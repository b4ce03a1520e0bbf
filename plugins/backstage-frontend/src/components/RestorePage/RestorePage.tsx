/** @jsxImportSource react */
export function RestorePage() {
  return null;
}
