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
import { ensureBundle } from './__testUtils__/job';
import { NATIVE_ADDON_FILE } from './nativeAddon';
import { SafeRoot } from './paths';
import { loadSmallFileWriter, WriteFileIn } from './smallFileWriter';
import { liveTemporaryFiles } from './temporaries';
import { OneGoPolicy, writeFileAtomically } from './writeFileAtomically';

let base: string;
let rootDir: string;
let outside: string;
/** A policy whose small files the native addon writes in one trip (smallFileWriter.ts). */
let oneTrip: OneGoPolicy;

beforeAll(() => {
  const loaded = loadSmallFileWriter(
    path.join(path.dirname(ensureBundle()), NATIVE_ADDON_FILE),
  );
  if (!loaded.writeFileIn)
    throw new Error(`the addon is not usable here: ${loaded.problem}`);
  const writeFileIn: WriteFileIn = loaded.writeFileIn;
  oneTrip = {
    oneTrip: writeFileIn,
    inOneGo: () => true,
    createAhead: () => false,
    took: () => {
      throw new Error('a write in one trip is not timed');
    },
  };
});

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

async function* chunks(n: number, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < n; i++) yield Buffer.alloc(size, i % 256);
}

describe('small files in one trip (native)', () => {
  it('keep bytes, mode and mtime, and no write is timed on the main thread; failures are as Node reports them', async () => {
    const root = path.join(rootDir, 'a');
    const took: number[] = [];
    const policy = {
      oneTrip: oneTrip.oneTrip,
      inOneGo: () => true,
      createAhead: () => false,
      took: (ms: number) => took.push(ms),
    };
    const mtime = new Date('2020-02-03T04:05:06.123Z');
    const opened: string[] = [];
    const write = (file: string, body: AsyncIterable<Buffer> | Buffer) =>
      writeFileAtomically(file, body, {
        syncSmall: policy,
        mode: 0o640,
        mtime,
        onOpen: tmp => opened.push(tmp),
      });
    await Promise.all([
      write(path.join(root, 'x'), chunks(3, 1000)),
      write(path.join(root, 'y'), Buffer.alloc(10, 1)),
      write(path.join(root, 'z'), chunks(1, 0)),
    ]);
    expect((await fsp.readdir(root)).sort()).toEqual(['x', 'y', 'z']);
    expect(await fsp.readFile(path.join(root, 'y'))).toEqual(
      Buffer.alloc(10, 1),
    );
    expect(await fsp.readFile(path.join(root, 'x'))).toEqual(
      Buffer.concat([0, 1, 2].map(i => Buffer.alloc(1000, i))),
    );
    const stat = await fsp.stat(path.join(root, 'x'));
    expect(stat.mode & 0o777).toBe(0o640);
    expect(stat.mtimeMs).toBe(mtime.getTime());
    // no streaming temporary, and nothing timed: the main thread held no file call
    expect(opened).toEqual([]);
    expect(took).toEqual([]);
    // failures as Node's calls report them, leaving neither a final name nor a temporary
    await expect(
      write(path.join(root, 'missing', 'f'), chunks(1, 10)),
    ).rejects.toMatchObject({ code: 'ENOENT' });
    await fsp.mkdir(path.join(root, 'd'));
    await expect(
      write(path.join(root, 'd'), Buffer.alloc(5)),
    ).rejects.toMatchObject({ code: 'EISDIR', syscall: 'rename' });
    expect((await fsp.readdir(root)).sort()).toEqual(['d', 'x', 'y', 'z']);
    expect(await fsp.readdir(path.join(root, 'd'))).toEqual([]);
    expect(liveTemporaryFiles()).toEqual([]);
  });
});

describe('the final step under a swapped parent directory', () => {
  /** A one-go policy that has each temporary made through the thread pool first. */
  const madeAhead = {
    inOneGo: () => true,
    createAhead: () => true,
    took: () => undefined,
  };
  it.each([
    ['a small body (written in one go)', Buffer.from('small'), () => true],
    [
      'a small body, its temporary made ahead',
      Buffer.from('small'),
      () => madeAhead,
    ],
    [
      'a small body written in one trip (native)',
      Buffer.from('small'),
      () => oneTrip,
    ],
    ['a streamed body', Buffer.alloc(600 * 1024, 7), () => true],
  ])(
    '%s: UNSAFE_PATH, and no file lands outside the volume',
    async (_what, body, policy) => {
      const syncSmall = policy();
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
    ['in one go', () => true],
    ['its temporary made ahead', () => madeAhead],
    ['in one trip (native)', () => oneTrip],
  ])(
    'a small body %s: its temporary is taken back through the directory held',
    async (_what, policy) => {
      const syncSmall = policy();
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

  describe.each([
    ['in one go', () => true],
    ['in one trip (native)', () => oneTrip],
  ])('small files %s', (_how, policy) => {
    const write = (name: string, body: string) =>
      writeFileAtomically(path.join(rootDir, 'a', name), Buffer.from(body), {
        syncSmall: policy(),
      });

    it('a directory held from an earlier file and swapped before the next: UNSAFE_PATH, nothing outside', async () => {
      await write('f1', '1');
      fs.renameSync(path.join(rootDir, 'a'), path.join(rootDir, 'a-moved'));
      fs.symlinkSync(outside, path.join(rootDir, 'a'));
      const error = await errorOf(write('f2', '2'));
      expect(error?.code).toBe('UNSAFE_PATH');
      // The held descriptor is let go and the directory opened afresh: O_NOFOLLOW refuses the link.
      expect(error?.message).toMatch(NO_LONGER_A_DIRECTORY);
      expect(await fsp.readdir(outside)).toEqual([]);
      expect(await fsp.readdir(path.join(rootDir, 'a-moved'))).toEqual(['f1']);
    });

    it('a directory held from an earlier file, removed and made again: the next file lands in the new one', async () => {
      await write('f1', '1');
      await fsp.rm(path.join(rootDir, 'a'), { recursive: true });
      await fsp.mkdir(path.join(rootDir, 'a'));
      await write('f2', '2');
      expect(await fsp.readdir(path.join(rootDir, 'a'))).toEqual(['f2']);
      releaseHeldDirectories();
      await write('f3', '3');
      expect((await fsp.readdir(path.join(rootDir, 'a'))).sort()).toEqual([
        'f2',
        'f3',
      ]);
    });
  });

  it('writes in one trip into more directories than are held, all at once, each into its own', async () => {
    // Directories let go while writes in them are under way must stay open until those end: a
    // descriptor closed early could be reused for another directory that a write then lands in.
    const dirs = 40;
    const writes = Array.from({ length: 400 }, (_, i) => ({
      file: path.join(rootDir, `d${i % dirs}`, `f${i}`),
      body: Buffer.from(`${i % dirs}:${i}`),
    }));
    for (let d = 0; d < dirs; d++) await fsp.mkdir(path.join(rootDir, `d${d}`));
    await Promise.all(
      writes.map(async ({ file, body }, i) => {
        if (i % 50 === 0) releaseHeldDirectories();
        await writeFileAtomically(file, body, { syncSmall: oneTrip });
      }),
    );
    for (const { file, body } of writes)
      expect(fs.readFileSync(file).equals(body)).toBe(true);
    for (let d = 0; d < dirs; d++)
      expect(await fsp.readdir(path.join(rootDir, `d${d}`))).toHaveLength(
        writes.length / dirs,
      );
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
