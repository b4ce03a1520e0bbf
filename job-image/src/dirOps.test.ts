/**
 * The final step of a write under the volume happens in the directory as held by its descriptor
 * (dirOps.ts). A hostile concurrent writer swaps the file's parent directory for a symlink to a
 * directory outside the volume between the write and the final step (the test seam); nothing may
 * land outside, and the write fails with UNSAFE_PATH. Real files in a temporary root with a sibling
 * `outside`.
 */
import fs, { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RestoreError } from './errors';
import {
  inDirectory,
  releaseHeldDirectories,
  replaceInDirectory,
  setBeforeFinalStepHook,
} from './dirOps';
import { SafeRoot } from './paths';
import { writeFileAtomically } from './writeFileAtomically';

let base: string;
let rootDir: string;
let outside: string;

beforeEach(async () => {
  base = await fsp.mkdtemp(path.join(os.tmpdir(), 'kr-dirops-'));
  rootDir = path.join(base, 'root');
  outside = path.join(base, 'outside');
  await fsp.mkdir(path.join(rootDir, 'a'), { recursive: true });
  await fsp.mkdir(outside);
  await SafeRoot.open(rootDir);
});

afterEach(async () => {
  setBeforeFinalStepHook(undefined);
  await fsp.rm(base, { recursive: true, force: true });
});

/** The hostile writer: `a` becomes `a-moved`, and `a` a link to the outside directory. */
function swapParentForLinkOutside() {
  setBeforeFinalStepHook(() => {
    setBeforeFinalStepHook(undefined);
    fs.renameSync(path.join(rootDir, 'a'), path.join(rootDir, 'a-moved'));
    fs.symlinkSync(outside, path.join(rootDir, 'a'));
  });
}

async function errorOf(
  promise: Promise<unknown>,
): Promise<RestoreError | NodeJS.ErrnoException | undefined> {
  return promise.then(
    () => undefined,
    e => e,
  );
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  return (await errorOf(promise))?.code;
}

/** The message of a directory that a link replaced, from whichever open (held or fresh) found it. */
const NO_LONGER_A_DIRECTORY = /is no longer a directory \(a symlink\?\)/;

describe('the final step under a swapped parent directory', () => {
  /** A one-go policy that has each temporary made through the thread pool first. */
  const madeAhead = {
    inOneGo: () => true,
    createAhead: () => true,
    took: () => undefined,
  };
  it.each([
    ['a small body (written in one go)', Buffer.from('small'), true],
    ['a small body, its temporary made ahead', Buffer.from('small'), madeAhead],
    ['a streamed body', Buffer.alloc(600 * 1024, 7), true],
  ])(
    '%s: UNSAFE_PATH, and no file lands outside the volume',
    async (_what, body, syncSmall) => {
      swapParentForLinkOutside();
      const code = await codeOf(
        writeFileAtomically(path.join(rootDir, 'a', 'f.bin'), body, {
          syncSmall,
        }),
      );
      expect(code).toBe('UNSAFE_PATH');
      expect(await fsp.readdir(outside)).toEqual([]);
      // Nor under its name in the directory that moved.
      expect(fs.existsSync(path.join(rootDir, 'a-moved', 'f.bin'))).toBe(false);
    },
  );

  it.each([
    ['in one go', true],
    ['its temporary made ahead', madeAhead],
  ])(
    'a small body %s: its temporary is taken back through the directory held',
    async (_what, syncSmall) => {
      swapParentForLinkOutside();
      const code = await codeOf(
        writeFileAtomically(
          path.join(rootDir, 'a', 'f.bin'),
          Buffer.from('small'),
          { syncSmall },
        ),
      );
      expect(code).toBe('UNSAFE_PATH');
      expect(await fsp.readdir(path.join(rootDir, 'a-moved'))).toEqual([]);
    },
  );

  it('a link made last: UNSAFE_PATH, and neither the link nor its temporary lands outside', async () => {
    swapParentForLinkOutside();
    const code = await codeOf(
      replaceInDirectory(
        path.join(rootDir, 'a', '.kr-tmp-test1'),
        path.join(rootDir, 'a', 'l'),
        'a/l',
        tmp => fsp.symlink('x', tmp),
      ),
    );
    expect(code).toBe('UNSAFE_PATH');
    expect(await fsp.readdir(outside)).toEqual([]);
  });

  it('a directory that moves during the step: what was made there is taken back, UNSAFE_PATH', async () => {
    const code = await codeOf(
      replaceInDirectory(
        path.join(rootDir, 'a', '.kr-tmp-test2'),
        path.join(rootDir, 'a', 'l'),
        'a/l',
        async tmp => {
          await fsp.symlink('../../outside', tmp);
          await fsp.mkdir(path.join(rootDir, 'deeper'));
          await fsp.rename(
            path.join(rootDir, 'a'),
            path.join(rootDir, 'deeper', 'a'),
          );
        },
      ),
    );
    expect(code).toBe('UNSAFE_PATH');
    expect(await fsp.readdir(path.join(rootDir, 'deeper', 'a'))).toEqual([]);
  });

  it('without a swap: the file and the link are where they were meant to be', async () => {
    await writeFileAtomically(path.join(rootDir, 'a', 'f'), Buffer.from('x'));
    await writeFileAtomically(
      path.join(rootDir, 'a', 'g'),
      Buffer.alloc(600 * 1024),
    );
    await replaceInDirectory(
      path.join(rootDir, 'a', '.kr-tmp-test3'),
      path.join(rootDir, 'a', 'l'),
      'a/l',
      tmp => fsp.symlink('f', tmp),
    );
    expect((await fsp.readdir(path.join(rootDir, 'a'))).sort()).toEqual([
      'f',
      'g',
      'l',
    ]);
    expect(await fsp.readFile(path.join(rootDir, 'a', 'l'), 'utf8')).toBe('x');
  });

  it('a directory held from an earlier file and swapped before the next: UNSAFE_PATH, nothing outside', async () => {
    await writeFileAtomically(path.join(rootDir, 'a', 'f1'), Buffer.from('1'));
    fs.renameSync(path.join(rootDir, 'a'), path.join(rootDir, 'a-moved'));
    fs.symlinkSync(outside, path.join(rootDir, 'a'));
    const error = await errorOf(
      writeFileAtomically(path.join(rootDir, 'a', 'f2'), Buffer.from('2')),
    );
    expect(error?.code).toBe('UNSAFE_PATH');
    // The held descriptor is let go and the directory opened afresh: O_NOFOLLOW refuses the link.
    expect(error?.message).toMatch(NO_LONGER_A_DIRECTORY);
    expect(await fsp.readdir(outside)).toEqual([]);
    expect(await fsp.readdir(path.join(rootDir, 'a-moved'))).toEqual(['f1']);
  });

  it('a directory held from an earlier file, removed and made again: the next file lands in the new one', async () => {
    await writeFileAtomically(path.join(rootDir, 'a', 'f1'), Buffer.from('1'));
    await fsp.rm(path.join(rootDir, 'a'), { recursive: true });
    await fsp.mkdir(path.join(rootDir, 'a'));
    await writeFileAtomically(path.join(rootDir, 'a', 'f2'), Buffer.from('2'));
    expect(await fsp.readdir(path.join(rootDir, 'a'))).toEqual(['f2']);
    releaseHeldDirectories();
    await writeFileAtomically(path.join(rootDir, 'a', 'f3'), Buffer.from('3'));
    expect((await fsp.readdir(path.join(rootDir, 'a'))).sort()).toEqual([
      'f2',
      'f3',
    ]);
  });

  it('refuses a directory whose last component is now a link (O_NOFOLLOW)', async () => {
    await fsp.symlink(outside, path.join(rootDir, 'b'));
    const error = await errorOf(
      inDirectory(path.join(rootDir, 'b'), 'b/x', async () => 'reached'),
    );
    expect(error?.code).toBe('UNSAFE_PATH');
    expect(error?.message).toMatch(NO_LONGER_A_DIRECTORY);
  });
});
