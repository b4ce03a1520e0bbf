/**
 * The native addon's small-file writer (native/smallFiles.c through smallFileWriter.ts) on real
 * files: what it writes and sets, how it fails (as Node's fs does, never removing a file it did not
 * make), what it refuses at the call, and that a directory held but moved is reported before or
 * after the rename. The addon is the one build.mjs compiles beside the bundle; it must load here.
 */
import fs, { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureBundle } from './__testUtils__/job';
import { NATIVE_ADDON_FILE } from './nativeAddon';
import {
  DirectoryMoved,
  loadSmallFileWriter,
  SmallFileWrite,
  WriteFileIn,
} from './smallFileWriter';

let writeFileIn: WriteFileIn;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the raw export, to call it wrongly
let raw: (...args: any[]) => Promise<void>;
let dir: string;
let dirFd: number;

beforeAll(() => {
  const file = path.join(path.dirname(ensureBundle()), NATIVE_ADDON_FILE);
  const loaded = loadSmallFileWriter(file);
  if (!loaded.writeFileIn)
    throw new Error(`the addon is not usable here: ${loaded.problem}`);
  writeFileIn = loaded.writeFileIn;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the addon itself
  raw = require(file).writeFileIn;
});

beforeEach(async () => {
  dir = await fsp.realpath(
    await fsp.mkdtemp(path.join(os.tmpdir(), 'kr-smallfiles-')),
  );
  dirFd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
});

afterEach(async () => {
  fs.closeSync(dirFd);
  await fsp.rm(dir, { recursive: true, force: true });
});

const request = (over: Partial<SmallFileWrite> = {}): SmallFileWrite => ({
  dirFd,
  expectedDir: dir,
  tempName: '.kr-tmp-1',
  finalName: 'f.bin',
  chunks: [Buffer.from('hello, '), Buffer.alloc(0), Buffer.from('world')],
  fsync: false,
  path: path.join(dir, 'f.bin'),
  ...over,
});

async function errorOf(promise: Promise<unknown>) {
  return promise.then(
    () => {
      throw new Error('it did not fail');
    },
    (error: NodeJS.ErrnoException) => error,
  );
}

describe("the native addon's writeFileIn", () => {
  it('writes the chunks under the final name, with its mode and mtime, and leaves no temporary', async () => {
    const big = Buffer.alloc(200 * 1024, 9);
    await writeFileIn(
      request({
        chunks: [Buffer.from('a'), big, Buffer.from('z')],
        mode: 0o600,
        mtime: new Date('2001-02-03T04:05:06.789Z'),
        fsync: true,
      }),
    );
    const written = await fsp.readFile(path.join(dir, 'f.bin'));
    expect(
      written.equals(Buffer.concat([Buffer.from('a'), big, Buffer.from('z')])),
    ).toBe(true);
    const stat = await fsp.stat(path.join(dir, 'f.bin'), { bigint: true });
    expect(Number(stat.mode & 0o7777n)).toBe(0o600);
    expect(stat.mtimeNs).toBe(981173106789000000n);
    expect(await fsp.readdir(dir)).toEqual(['f.bin']);
  });

  it('sets a time before 1970 to the millisecond, and replaces what was at the final name', async () => {
    await fsp.writeFile(path.join(dir, 'f.bin'), 'old');
    await writeFileIn(request({ mtime: new Date(-1500) }));
    const stat = await fsp.stat(path.join(dir, 'f.bin'), { bigint: true });
    expect(stat.mtimeNs).toBe(-1500000000n);
    expect(await fsp.readFile(path.join(dir, 'f.bin'), 'utf8')).toBe(
      'hello, world',
    );
  });

  it('without a mode, creates 0644 less the umask; an empty file is a file', async () => {
    await writeFileIn(request({ chunks: [] }));
    const stat = await fsp.stat(path.join(dir, 'f.bin'));
    expect(stat.size).toBe(0);
    expect(stat.mode & 0o7777).toBe(0o644 & ~process.umask());
  });

  it('sets the owner asked for (the tests run as root) or leaves it', async () => {
    if (process.getuid?.() !== 0) throw new Error('this test needs root');
    await writeFileIn(request({ uid: 4242, gid: 4343 }));
    const stat = await fsp.stat(path.join(dir, 'f.bin'));
    expect([stat.uid, stat.gid]).toEqual([4242, 4343]);
    await writeFileIn(request({ finalName: 'g.bin', gid: 77 }));
    const g = await fsp.stat(path.join(dir, 'g.bin'));
    expect([g.uid, g.gid]).toEqual([0, 77]);
  });

  it('never opens nor removes what is already at the temporary name: EEXIST as Node reports it', async () => {
    await fsp.writeFile(path.join(dir, '.kr-tmp-1'), 'theirs');
    await fsp.symlink('/etc/passwd', path.join(dir, '.kr-tmp-2'));
    for (const tempName of ['.kr-tmp-1', '.kr-tmp-2']) {
      const error = await errorOf(writeFileIn(request({ tempName })));
      expect(error).toMatchObject({
        code: 'EEXIST',
        syscall: 'open',
        errno: -17,
        path: path.join(dir, 'f.bin'),
      });
      expect(error.message).toBe(
        `EEXIST: file already exists, open '${path.join(dir, 'f.bin')}'`,
      );
    }
    expect(await fsp.readFile(path.join(dir, '.kr-tmp-1'), 'utf8')).toBe(
      'theirs',
    );
    expect(await fsp.readlink(path.join(dir, '.kr-tmp-2'))).toBe('/etc/passwd');
    expect(fs.existsSync(path.join(dir, 'f.bin'))).toBe(false);
  });

  it('fails as Node would where the rename cannot be done, and takes its temporary back', async () => {
    await fsp.mkdir(path.join(dir, 'f.bin'));
    await fsp.writeFile(path.join(dir, 'f.bin', 'inside'), 'x');
    const error = await errorOf(writeFileIn(request()));
    expect(error).toMatchObject({ code: 'EISDIR', syscall: 'rename' });
    expect((await fsp.readdir(dir)).sort()).toEqual(['f.bin']);
  });

  it('in a directory held that moved before the rename: DirectoryMoved, nothing renamed, no temporary left', async () => {
    await fsp.mkdir(path.join(dir, 'a'));
    const held = fs.openSync(path.join(dir, 'a'), fs.constants.O_RDONLY);
    try {
      await fsp.rename(path.join(dir, 'a'), path.join(dir, 'b'));
      const error = await errorOf(
        writeFileIn(request({ dirFd: held, expectedDir: path.join(dir, 'a') })),
      );
      expect(error).toBeInstanceOf(DirectoryMoved);
      expect(error).toMatchObject({
        when: 'before',
        real: path.join(dir, 'b'),
      });
      expect(await fsp.readdir(path.join(dir, 'b'))).toEqual([]);
    } finally {
      fs.closeSync(held);
    }
  });

  it('refuses at the call what is not one name, an absolute directory, chunks of bytes or a valid attribute', () => {
    const good = [
      dirFd,
      '.kr-tmp-1',
      'f.bin',
      dir,
      [Buffer.from('x')],
      0o644,
      false,
      -1,
      -1,
      0,
      -1,
      false,
    ];
    const withArg = (i: number, value: unknown) =>
      good.map((v, j) => (j === i ? value : v));
    const bad: Array<[string, unknown[]]> = [
      ['a negative descriptor', withArg(0, -1)],
      ['a fractional descriptor', withArg(0, 3.5)],
      ['a temporary name with a slash', withArg(1, '../f')],
      ['a temporary name ..', withArg(1, '..')],
      ['a final name .', withArg(2, '.')],
      ['an empty final name', withArg(2, '')],
      ['a final name with NUL', withArg(2, 'f\0.bin')],
      ['a final name of 256 bytes', withArg(2, 'x'.repeat(256))],
      ['a relative directory', withArg(3, 'tmp/x')],
      ['chunks that are not an array', withArg(4, Buffer.from('x'))],
      ['a chunk that is a string', withArg(4, ['x'])],
      ['a chunk that is a Uint16Array', withArg(4, [new Uint16Array(2)])],
      ['too many chunks', withArg(4, new Array(1025).fill(Buffer.alloc(1)))],
      ['a mode past 07777', withArg(5, 0o10000)],
      ['a uid below -1', withArg(7, -2)],
      ['a gid past 2^32 - 2', withArg(8, 2 ** 32 - 1)],
      ['nanoseconds of a whole second', withArg(10, 1e9)],
      ['an mtime that is not an integer', withArg(9, 0.5)],
      ['a sync flag that is not boolean', withArg(11, 1)],
      ['too few arguments', good.slice(0, 11)],
    ];
    for (const [what, args] of bad) {
      let thrown: unknown;
      try {
        void raw(...args);
      } catch (error) {
        thrown = error;
      }
      // the addon's TypeError is of the main realm, not of the test's
      expect([what, (thrown as Error | undefined)?.name]).toEqual([
        what,
        'TypeError',
      ]);
    }
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('a descriptor that is not a directory: ENOTDIR, as Node reports it', async () => {
    const file = path.join(dir, 'plain');
    fs.writeFileSync(file, '');
    const fd = fs.openSync(file, 'r');
    try {
      const error = await errorOf(writeFileIn(request({ dirFd: fd })));
      expect(error).toMatchObject({ code: 'ENOTDIR', syscall: 'open' });
    } finally {
      fs.closeSync(fd);
    }
  });

  it('many at once into one directory: each file whole under its own name', async () => {
    const bodies = Array.from({ length: 200 }, (_, i) =>
      Buffer.alloc(1000 + i, i),
    );
    await Promise.all(
      bodies.map((body, i) =>
        writeFileIn(
          request({
            tempName: `.kr-tmp-${i}`,
            finalName: `f${i}`,
            chunks: [body],
          }),
        ),
      ),
    );
    expect(fs.readdirSync(dir)).toHaveLength(200);
    for (const [i, body] of bodies.entries())
      expect(fs.readFileSync(path.join(dir, `f${i}`)).equals(body)).toBe(true);
  });

  it('runs on pool threads that made themselves SCHED_BATCH; the main thread stays as it was', async () => {
    const SCHED_NORMAL = 0;
    const SCHED_BATCH = 3;
    // A thread's policy is field 41 of /proc/self/task/TID/stat (after "(comm)", field 3 on).
    const policyOf = (tid: string) => {
      const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[38]);
    };
    const before = policyOf(String(process.pid));
    // Enough writes at once for every thread of the pool to take some.
    await Promise.all(
      Array.from({ length: 64 }, (_, i) =>
        writeFileIn(
          request({
            tempName: `.kr-tmp-${i}`,
            finalName: `g${i}`,
            fsync: true,
          }),
        ),
      ),
    );
    const policies = fs
      .readdirSync('/proc/self/task')
      .filter(tid => tid !== String(process.pid))
      .map(policyOf);
    expect(policies).toContain(SCHED_BATCH);
    expect(before).toBe(SCHED_NORMAL);
    expect(policyOf(String(process.pid))).toBe(SCHED_NORMAL);
  });
});
