import fsSync, { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RestoreError } from './errors';
import {
  applyStripPrefix,
  normalizeEntryPath,
  PathRegistry,
  SafeRoot,
} from './paths';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as RestoreError).code;
  }
  return undefined;
}

async function codeOfAsync(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (error) {
    return (error as RestoreError).code;
  }
  return undefined;
}

describe('normalizeEntryPath', () => {
  it.each([
    ['a/b.txt', { kind: 'file', path: 'a/b.txt' }],
    ['./a//b.txt', { kind: 'file', path: 'a/b.txt' }],
    ['dir/', { kind: 'dir', path: 'dir' }],
    ['', { kind: 'dir', path: '' }],
    [
      'ünï cødé/100% done.txt',
      { kind: 'file', path: 'ünï cødé/100% done.txt' },
    ],
    ['lost+found/x', { kind: 'skip', reason: 'lost+found is left alone' }],
  ])('maps %j', (name, expected) => {
    expect(normalizeEntryPath(name)).toEqual(expected);
  });

  it.each([
    ['../etc/passwd', 'contains a ".." segment'],
    ['a/../../b', 'contains a ".." segment'],
    ['/etc/passwd', 'is an absolute path'],
    ['a\0b', 'contains a NUL byte'],
    [`${'x'.repeat(256)}/f`, 'longer than 255 bytes'],
    ['.kube-restore/manifest.jsonl', 'kube-restore'],
    ['a/.kr-tmp-0123456789ab', 'temporary-name prefix'],
  ])('refuses %j with UNSAFE_PATH', (name, why) => {
    expect(codeOf(() => normalizeEntryPath(name))).toBe('UNSAFE_PATH');
    expect(() => normalizeEntryPath(name)).toThrow(why);
  });

  it('names the entry in the message', () => {
    expect(() => normalizeEntryPath('../x', 'backups/../x')).toThrow(
      'refused "backups/../x"',
    );
  });
});

describe('applyStripPrefix', () => {
  it('removes a directory prefix and drops names outside it', () => {
    expect(applyStripPrefix('2024/a.txt', '2024/')).toBe('a.txt');
    expect(applyStripPrefix('./2024/a.txt', '2024')).toBe('a.txt');
    expect(applyStripPrefix('2023/a.txt', '2024/')).toBeUndefined();
    expect(applyStripPrefix('20245/a.txt', '2024')).toBeUndefined();
    expect(applyStripPrefix('a.txt', undefined)).toBe('a.txt');
  });
});

describe('PathRegistry', () => {
  it('refuses two entries on one path', () => {
    const r = new PathRegistry();
    r.claimFile('a/b', 'k1');
    expect(codeOf(() => r.claimFile('a/b', 'k2'))).toBe('PATH_CONFLICT');
  });

  it('refuses a file where a directory must go, in either order', () => {
    const r1 = new PathRegistry();
    r1.claimFile('a', 'a');
    expect(codeOf(() => r1.claimFile('a/b', 'a/b'))).toBe('PATH_CONFLICT');
    const r2 = new PathRegistry();
    r2.claimFile('a/b/c', 'a/b/c');
    expect(codeOf(() => r2.claimFile('a/b', 'a/b'))).toBe('PATH_CONFLICT');
    expect(codeOf(() => r2.claimFile('a', 'a'))).toBe('PATH_CONFLICT');
  });

  it('accepts directories claimed twice and files beside each other', () => {
    const r = new PathRegistry();
    r.claimDir('a', 'a/');
    r.claimDir('a', 'a/');
    r.claimFile('a/x', 'a/x');
    r.claimFile('a/y', 'a/y');
    r.claimFile('ab', 'ab');
    expect(r.hasFile('a/x')).toBe(true);
  });
});

describe('SafeRoot', () => {
  let base: string;
  let rootDir: string;
  let root: SafeRoot;
  beforeEach(async () => {
    base = await fsp.mkdtemp(path.join(os.tmpdir(), 'kr-paths-'));
    rootDir = path.join(base, 'root');
    await fsp.mkdir(path.join(base, 'outside'), { recursive: true });
    await fsp.mkdir(rootDir);
    root = await SafeRoot.open(rootDir);
  });
  afterEach(() => fsp.rm(base, { recursive: true, force: true }));

  it('creates directories beneath the root', async () => {
    const file = await root.filePath('x/y/z.txt', 'x/y/z.txt');
    expect(file).toBe(path.join(await fsp.realpath(rootDir), 'x/y/z.txt'));
    expect((await fsp.stat(path.dirname(file))).isDirectory()).toBe(true);
  });

  it('refuses to write through a symlink that leaves the root', async () => {
    await fsp.symlink('../outside', path.join(rootDir, 'esc'));
    expect(await codeOfAsync(root.filePath('esc/f', 'esc/f'))).toBe(
      'UNSAFE_PATH',
    );
    await fsp.symlink(path.join(base, 'outside'), path.join(rootDir, 'abs'));
    expect(await codeOfAsync(root.filePath('abs/f', 'abs/f'))).toBe(
      'UNSAFE_PATH',
    );
    expect(await fsp.readdir(path.join(base, 'outside'))).toEqual([]);
  });

  it('follows a symlink that stays inside the root', async () => {
    await fsp.mkdir(path.join(rootDir, 'real'));
    await fsp.symlink('real', path.join(rootDir, 'alias'));
    const file = await root.filePath('alias/f', 'alias/f');
    expect(file).toBe(path.join(await fsp.realpath(rootDir), 'real/f'));
  });

  it('catches a link pair that escapes only together (s -> ., t -> s/..)', async () => {
    await fsp.symlink('.', path.join(rootDir, 's'));
    expect(await codeOfAsync(root.checkSymlinkTarget('t', 's/..', 't'))).toBe(
      'UNSAFE_PATH',
    );
    expect(
      await codeOfAsync(root.checkSymlinkTarget('t', 's/x', 't')),
    ).toBeUndefined();
  });

  it('takes back a directory made through a link swapped in out of the volume, and refuses the entry', async () => {
    // `a` is made; before its child is, a second writer swaps it for a link out of the volume.
    const realMkdir = fsp.mkdir.bind(fsp);
    const mkdir = jest.spyOn(fsp, 'mkdir').mockImplementation(((
      ...args: Parameters<typeof fsp.mkdir>
    ) => {
      if (String(args[0]).endsWith('/a/b')) {
        fsSync.renameSync(path.join(rootDir, 'a'), path.join(base, 'moved'));
        fsSync.symlinkSync('../outside', path.join(rootDir, 'a'));
      }
      return realMkdir(...args);
    }) as typeof fsp.mkdir);
    try {
      const error = await root.filePath('a/b/f', 'a/b/f').catch(e => e);
      expect((error as RestoreError).code).toBe('UNSAFE_PATH');
      expect((error as Error).message).toMatch(/redirected outside the volume/);
      expect(await fsp.readdir(path.join(base, 'outside'))).toEqual([]);
    } finally {
      mkdir.mockRestore();
    }
  });

  it('calls a file in the middle of a path a PATH_CONFLICT', async () => {
    await fsp.writeFile(path.join(rootDir, 'f'), 'x');
    expect(await codeOfAsync(root.filePath('f/g', 'f/g'))).toBe(
      'PATH_CONFLICT',
    );
  });

  it('makes a new directory once for the files that reach it at the same time', async () => {
    const mkdir = jest.spyOn(fsp, 'mkdir');
    try {
      const names = Array.from({ length: 40 }, (_, i) => `d/e/f${i}`);
      const files = await Promise.all(names.map(n => root.filePath(n, n)));
      const real = await fsp.realpath(rootDir);
      expect(files).toEqual(names.map(n => path.join(real, n)));
      expect(mkdir.mock.calls.map(c => c[0])).toEqual([
        path.join(real, 'd'),
        path.join(real, 'd/e'),
      ]);
    } finally {
      mkdir.mockRestore();
    }
  });

  it('forget() drops the mkdirs under way: later callers look again, and nothing stale is kept', async () => {
    const real = await fsp.realpath(rootDir);
    // The two mkdirs run one after the other, in the order called: on libuv's thread pool the
    // second could otherwise reach the kernel first, and then it (after forget()) did make 'd'.
    const realMkdir = fsp.mkdir.bind(fsp);
    let queue: Promise<unknown> = Promise.resolve();
    const mkdir = jest.spyOn(fsp, 'mkdir').mockImplementation(((
      ...args: Parameters<typeof fsp.mkdir>
    ) => {
      const done = queue.then(() => realMkdir(...args));
      queue = done.catch(() => undefined);
      return done;
    }) as typeof fsp.mkdir);
    try {
      // 'd' is being made when the root forgets; the caller after that makes (checks) it itself.
      const before = root.filePath('d/a', 'd/a');
      root.forget();
      const after = root.filePath('d/b', 'd/b');
      expect(await Promise.all([before, after])).toEqual([
        path.join(real, 'd/a'),
        path.join(real, 'd/b'),
      ]);
      expect(mkdir.mock.calls.map(c => c[0])).toEqual([
        path.join(real, 'd'),
        path.join(real, 'd'),
      ]);
      // neither the mkdir begun before forget() nor the one after (EEXIST) says it made 'd'
      expect(root.madeHere('d')).toBe(false);
    } finally {
      mkdir.mockRestore();
    }
  });

  it('a directory that cannot be made fails each file at once under its own name', async () => {
    await fsp.writeFile(path.join(rootDir, 'f'), 'x');
    const names = ['f/g/a', 'f/g/b', 'f/g/c'];
    const errors = await Promise.all(
      names.map(n =>
        root.filePath(n, n).then(
          () => undefined,
          e => e,
        ),
      ),
    );
    expect(errors.map(e => (e as RestoreError).code)).toEqual([
      'PATH_CONFLICT',
      'PATH_CONFLICT',
      'PATH_CONFLICT',
    ]);
    expect(errors.map(e => (e as RestoreError).entry)).toEqual(names);
  });
});
