/**
 * Types for the one call of react-dom/client this app makes. The workspace has no @types/react-dom (the
 * plugins never render roots), and the @types/react it hoists is 19 while React itself is 18, so a
 * matching @types/react-dom does not exist; this declares just createRoot.
 */
declare module 'react-dom/client' {
  import type { ReactNode } from 'react';

  export function createRoot(container: Element): {
    render(children: ReactNode): void;
    unmount(): void;
  };
}
