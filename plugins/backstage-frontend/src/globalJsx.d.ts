/**
 * @types/react 19 is what npm hoisted in this workspace (something depends on `@types/react: *`), and it
 * no longer declares the global `JSX` namespace. react-markdown 8 (under @backstage/core-components)
 * ships a .ts file that still uses it, which breaks the root `tsc`. This restores the global namespace as
 * an alias of React's. Remove it once the workspace pins @types/react to ^18.
 */
import type { JSX as ReactJSX } from 'react';

declare global {
  namespace JSX {
    type Element = ReactJSX.Element;
    type ElementClass = ReactJSX.ElementClass;
    type ElementAttributesProperty = ReactJSX.ElementAttributesProperty;
    type ElementChildrenAttribute = ReactJSX.ElementChildrenAttribute;
    type IntrinsicAttributes = ReactJSX.IntrinsicAttributes;
    type IntrinsicClassAttributes<T> = ReactJSX.IntrinsicClassAttributes<T>;
    type IntrinsicElements = ReactJSX.IntrinsicElements;
  }
}
