/**
 * The scratch directory on a real file system: its files are named through the descriptor held
 * since it was made, so a writer of the volume who renames it and plants a link in its place does
 * not redirect them.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Scratch, Spool } from './scratch';
import { openScratchDatabase } from './scratchDatabase';

let root: string;
beforeEach(async () => {
  root = await fsp.mkdtemp(path.join(os.tmpdir(), 'kr-scratch-'));
});
afterEach(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});

it('a directory swapped for a link after it was made does not redirect its files', async () => {
  const dir = path.join(root, 'scratch');
  const scratch = await Scratch.open(dir);
  const outside = path.join(root, 'outside');
  await fsp.mkdir(outside);
  await fsp.rename(dir, path.join(root, 'moved'));
  await fsp.symlink(outside, dir);

  const db = openScratchDatabase(
    scratch.file('claims'),
    'CREATE TABLE t (k TEXT PRIMARY KEY);',
  );
  db.close();
  const spool = await Spool.create<number>(scratch.file('spool'));
  await spool.append(1);
  await spool.finish();

  expect(await fsp.readdir(outside)).toEqual([]);
  expect((await fsp.readdir(path.join(root, 'moved'))).sort()).toEqual([
    'claims-1',
    'spool-2',
  ]);
  await scratch.remove();
  expect(() => scratch.file('late')).toThrow(/removed/);
});
