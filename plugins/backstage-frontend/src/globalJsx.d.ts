/**
 * @types/react 19 is what npm hoisted in this workspace (something depends on `@types/react: *`), and it
 * no longer declares the global `JSX` namespace. react-markdown 8 (under @backstage/core-components)
 * ships a .ts file that still uses it, which breaks the root `tsc`, and core-components' types name
 * `JSX.Element`. This declares the global namespace as React's. Interfaces (not type aliases), so that
 * they merge with @types/react 18's own declarations once the workspace pins @types/react to ^18; remove
 * this file then.
 */
import type { JSX as ReactJSX } from 'react';

declare global {
  namespace JSX {
    interface Element extends ReactJSX.Element {}
    interface ElementClass extends ReactJSX.ElementClass {}
    interface IntrinsicAttributes extends ReactJSX.IntrinsicAttributes {}
    interface IntrinsicElements extends ReactJSX.IntrinsicElements {}
  }
}
