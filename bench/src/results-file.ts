/**
 * bench/RESULTS.md holds the loopback run's report and, in marked blocks, the tables of the other
 * modes (`--region`, `--scale`), each written by its own run: a run replaces its own block and
 * keeps the others. Pure functions; main and the modes do the file I/O.
 */

export type BlockName = 'region' | 'scale' | 'scale-list';

const begin = (name: BlockName) => `<!-- bench:${name}:begin -->`;
const end = (name: BlockName) => `<!-- bench:${name}:end -->`;

/** The block `name` of `text` with its markers, or undefined. */
export function findBlock(text: string, name: BlockName): string | undefined {
  const b = text.indexOf(begin(name));
  const e = text.indexOf(end(name));
  if (b < 0 || e < b) return undefined;
  return text.slice(b, e + end(name).length);
}

/** `text` with block `name` set to `body` (appended at the end when it has none). */
export function replaceBlock(
  text: string,
  name: BlockName,
  body: string,
): string {
  const block = `${begin(name)}\n${body.trim()}\n${end(name)}`;
  const old = findBlock(text, name);
  if (old !== undefined) return text.replace(old, () => block);
  return `${text.trimEnd()}\n\n${block}\n`;
}

/** `text` without block `name` (and the blank line before it), unchanged when it has none. */
export function removeBlock(text: string, name: BlockName): string {
  const old = findBlock(text, name);
  if (old === undefined) return text;
  const at = text.indexOf(old);
  const head = text.slice(0, at).replace(/\n+$/, '\n');
  const tail = text.slice(at + old.length).replace(/^\n+/, '');
  return tail ? `${head}\n${tail}` : head;
}

/** A new loopback report with the other modes' blocks of the previous file carried over. */
export function carryBlocks(previous: string, report: string): string {
  let out = report;
  for (const name of ['region', 'scale', 'scale-list'] as const) {
    const old = findBlock(previous, name);
    if (old !== undefined)
      out = replaceBlock(
        out,
        name,
        old.slice(begin(name).length, -end(name).length),
      );
  }
  return out;
}
