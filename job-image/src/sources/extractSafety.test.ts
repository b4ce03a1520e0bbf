/**
 * Hostile archives, part two (extract.test.ts has the corpus): links that escape only once later
 * links exist, on every exit; entry types kube-restore does not restore; paths the file system cannot
 * hold; oversized headers; a volume that folds letter case; what the volume held before the first
 * attempt. Real files in a temporary root with a sibling `outside` that must never change.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tar from 'tar-stream';
import type { RestoreError } from '../errors';
import { PathRegistry, SafeRoot } from '../paths';
import { inodesUnder, Preexisting } from '../volume';
import { writeFileAtomically } from '../writeFileAtomically';
import { decompressed, extractTar, ExtractOptions } from './extract';

type Entry = Partial<tar.Header> & { name: string; body?: string };

async function pack(entries: Entry[]): Promise<Buffer> {
  const p = tar.pack();
  const out: Buffer[] = [];
  const done = (async () => {
    for await (const chunk of p as AsyncIterable<Buffer>) out.push(chunk);
  })();
  for (const { body, ...header } of entries) {
    const content = Buffer.from(body ?? '');
    await new Promise<void>((resolve, reject) =>
      p.entry(
        { ...header, size: content.length } as tar.Header,
        content,
        err => (err ? reject(err) : resolve()),
      ),
    );
  }
  p.finalize();
  await done;
  return Buffer.concat(out);
}

/** Sets the typeflag of the header at `offset` (a GNU sparse file is `S`) and fixes its checksum. */
function retype(archive: Buffer, offset: number, typeflag: string): Buffer {
  const out = Buffer.from(archive);
  out.write(typeflag, offset + 156, 'latin1');
  out.fill(' ', offset + 148, offset + 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += out[offset + i];
  out.write(`${sum.toString(8).padStart(6, '0')}\0 `, offset + 148, 'latin1');
  return out;
}

async function* streamOf(data: Buffer): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += 4096) yield data.subarray(i, i + 4096);
}

describe('extractTar: safety', () => {
  let base: string;
  let rootDir: string;
  let outside: string;

  beforeEach(async () => {
    base = await fsp.mkdtemp(path.join(os.tmpdir(), 'kr-tar-safety-'));
    rootDir = path.join(base, 'root');
    outside = path.join(base, 'outside');
    await fsp.mkdir(rootDir);
    await fsp.mkdir(outside);
    await fsp.writeFile(path.join(outside, 'victim'), 'original');
  });
  // The invariant of every test: nothing outside the root changed.
  async function expectNothingOutsideChanged() {
    expect(await fsp.readdir(outside)).toEqual(['victim']);
    expect(await fsp.readFile(path.join(outside, 'victim'), 'utf8')).toBe(
      'original',
    );
  }
  afterEach(async () => {
    await expectNothingOutsideChanged();
    await fsp.rm(base, { recursive: true, force: true });
  });

  async function extract(
    archive: Buffer,
    options: Partial<ExtractOptions> = {},
    root?: SafeRoot,
  ) {
    const { tar: stream } = await decompressed(streamOf(archive), 'test.tar');
    return extractTar(stream, {
      root: root ?? (await SafeRoot.open(rootDir)),
      archive: 'test.tar',
      conflict: 'fail',
      canChown: false,
      ...options,
    });
  }

  async function failure(
    archive: Buffer,
    options: Partial<ExtractOptions> = {},
    root?: SafeRoot,
  ): Promise<RestoreError> {
    try {
      await extract(archive, options, root);
    } catch (error) {
      return error as RestoreError;
    }
    throw new Error('the extraction succeeded');
  }

  const exists = (rel: string) =>
    fsp.lstat(path.join(rootDir, rel)).then(
      () => true,
      () => false,
    );

  describe('no link that escapes the volume survives any exit', () => {
    it('a -> m/../outside/victim, then m -> ., then a fifo: the restore fails and `a` is gone', async () => {
      const error = await failure(
        await pack([
          { name: 'a', type: 'symlink', linkname: 'm/../outside/victim' },
          { name: 'm', type: 'symlink', linkname: '.' },
          { name: 'pipe', type: 'fifo' },
        ]),
      );
      expect(error.code).toBe('UNSAFE_PATH');
      expect(error.entry).toBe('pipe');
      expect(await exists('a')).toBe(false);
      expect(await exists('m')).toBe(false);
    });

    it('the same pair on an otherwise good archive: UNSAFE_PATH naming `a`, and no link stays', async () => {
      const error = await failure(
        await pack([
          { name: 'ok.txt', body: 'fine' },
          { name: 'a', type: 'symlink', linkname: 'm/../outside/victim' },
          { name: 'm', type: 'symlink', linkname: '.' },
        ]),
      );
      expect(error.code).toBe('UNSAFE_PATH');
      expect(error.entry).toBe('a');
      expect(await exists('a')).toBe(false);
      expect(await exists('m')).toBe(false);
      expect(await exists('ok.txt')).toBe(true);
    });

    it('a stop (SIGTERM) before the links are made leaves none', async () => {
      const stop = new AbortController();
      const error = await failure(
        await pack([
          { name: 'a', type: 'symlink', linkname: 'b' },
          { name: 'b', body: 'x' },
          { name: 'c', body: 'y' },
        ]),
        {
          signal: stop.signal,
          onEntry: line => {
            if (line.path === 'b') stop.abort();
          },
        },
      );
      expect(error.code).toBe('CANCELLED');
      expect(await exists('a')).toBe(false);
    });

    it('good links are made, after the files, and recorded', async () => {
      const seen: string[] = [];
      await extract(
        await pack([
          { name: 'cur', type: 'symlink', linkname: 'v1/data' },
          { name: 'v1/data', body: 'd' },
        ]),
        { onEntry: line => seen.push(`${line.kind}:${line.path}`) },
      );
      expect(await fsp.readlink(path.join(rootDir, 'cur'))).toBe('v1/data');
      expect(await fsp.readFile(path.join(rootDir, 'cur'), 'utf8')).toBe('d');
      expect(seen).toEqual(['file:v1/data', 'symlink:cur']);
    });
  });

  describe('a directory swapped for a link while the restore writes', () => {
    /** The root resolved and cached `d`; then someone replaces `d` with a link out of the volume. */
    async function swapped() {
      const root = await SafeRoot.open(rootDir);
      const finalPath = await root.filePath('d/f', 'd/f');
      await fsp.rename(path.join(rootDir, 'd'), path.join(rootDir, 'd-was'));
      await fsp.symlink(outside, path.join(rootDir, 'd'));
      return { root, finalPath };
    }

    it.each([
      ['a small file (written in one go)', 1000],
      ['a large file (streamed through a temporary)', 600_000],
    ])(
      '%s is refused on its descriptor; nothing stays outside',
      async (_, size) => {
        const { finalPath } = await swapped();
        await expect(
          writeFileAtomically(finalPath, Buffer.alloc(size, 1)),
        ).rejects.toMatchObject({ code: 'UNSAFE_PATH' });
      },
    );

    it('a directory made through the link is refused and removed', async () => {
      const root = await SafeRoot.open(rootDir);
      await root.ensureDir('d', 'd');
      await fsp.rename(path.join(rootDir, 'd'), path.join(rootDir, 'd-was'));
      await fsp.symlink(outside, path.join(rootDir, 'd'));
      await expect(root.ensureDir('d/sub', 'd/sub')).rejects.toMatchObject({
        code: 'UNSAFE_PATH',
      });
    });
  });

  describe('entry types', () => {
    // The second entry's header: after the first entry's header and its 512 bytes of body.
    const sparse = async () =>
      retype(
        await pack([
          { name: 'a.txt', body: 'a' },
          { name: 'sparse.img', body: 'not really sparse' },
          { name: 'z.txt', body: 'z' },
        ]),
        1024,
        'S',
      );

    it('an unknown type (GNU sparse) fails the restore, naming the entry', async () => {
      const error = await failure(await sparse());
      expect(error.code).toBe('INVALID_ARCHIVE');
      expect(error.entry).toBe('sparse.img');
      expect(error.message).toContain('skipUnsupportedEntries');
    });

    it('is skipped and reported only when the request says so', async () => {
      const result = await extract(await sparse(), { skipUnsupported: true });
      expect(result.unsupported).toEqual([
        { entry: 'sparse.img', type: 'unknown' },
      ]);
      expect(await exists('sparse.img')).toBe(false);
      expect(await exists('z.txt')).toBe(true);
    });

    it('an oversized PAX header stays refused with INVALID_ARCHIVE', async () => {
      const archive = await pack([
        {
          name: 'a.txt',
          body: 'a',
          pax: { comment: 'x'.repeat(5 * 1024 * 1024) },
        },
      ]);
      const error = await failure(archive);
      expect(error.code).toBe('INVALID_ARCHIVE');
      expect(await exists('a.txt')).toBe(false);
    });
  });

  describe('paths longer than PATH_MAX', () => {
    const deep = (segments: number, width = 200) =>
      Array.from({ length: segments }, (_, i) => `${'d'.repeat(width)}${i}`)
        .concat('f.txt')
        .join('/');

    it('over 4095 bytes: UNSAFE_PATH (fatal) before anything is written', async () => {
      const name = deep(21);
      const error = await failure(await pack([{ name, body: 'x' }]));
      expect(error.code).toBe('UNSAFE_PATH');
      expect(error.entry).toBe(name);
      expect(await fsp.readdir(rootDir)).toEqual([]);
    });

    it('short enough alone, too long under the volume root (ENAMETOOLONG): UNSAFE_PATH, not INTERNAL', async () => {
      // 4095 - 20 bytes of path: with the root's own path in front, past PATH_MAX.
      const name = deep(20, 198).padEnd(4075, 'f');
      expect(Buffer.byteLength(name)).toBe(4075);
      const error = await failure(await pack([{ name, body: 'x' }]));
      expect(error.code).toBe('UNSAFE_PATH');
    });
  });

  describe('entries in one directory (source.maxEntriesPerDirectory)', () => {
    const files = (dir: string, n: number): Entry[] =>
      Array.from({ length: n }, (_, i) => ({ name: `${dir}f${i}`, body: 'x' }));

    it('one more file than allowed: INVALID_ARCHIVE naming the entry and the directory, before it is written', async () => {
      const error = await failure(await pack(files('d/', 4)), {
        maxEntriesPerDirectory: 3,
      });
      expect(error.code).toBe('INVALID_ARCHIVE');
      expect(error.entry).toBe('d/f3');
      expect(error.message).toContain(
        'directory "d" would hold more than 3 entries',
      );
      expect(await exists('d/f2')).toBe(true);
      expect(await exists('d/f3')).toBe(false);
    });

    it('directories count where they appear, also when only implied by a path; links count too', async () => {
      const error = await failure(
        await pack([
          { name: 'x/a/1', body: '1' },
          { name: 'x/b/', type: 'directory' },
          { name: 'x/b/2', body: '2' },
          { name: 'x/l', type: 'symlink', linkname: 'a/1' },
          { name: 'x/c/d/3', body: '3' },
        ]),
        { maxEntriesPerDirectory: 3 },
      );
      expect(error.code).toBe('INVALID_ARCHIVE');
      expect(error.entry).toBe('x/c/d/3');
      expect(error.message).toContain('directory "x" would hold more than 3');
    });

    it('the root counts like any directory; at the bound everything is restored', async () => {
      const atBound = await extract(await pack(files('', 3)), {
        maxEntriesPerDirectory: 3,
      });
      expect(atBound.files).toBe(3);
      await fsp.rm(rootDir, { recursive: true });
      await fsp.mkdir(rootDir);
      const error = await failure(await pack(files('', 4)), {
        maxEntriesPerDirectory: 3,
      });
      expect(error.message).toContain('the volume root would hold more than 3');
    });
  });

  describe('a case-insensitive volume', () => {
    it('two entries that differ only in case are one path: PATH_CONFLICT', async () => {
      const root = await SafeRoot.open(rootDir);
      root.caseInsensitive = true;
      const error = await failure(
        await pack([
          { name: 'Readme', body: 'one' },
          { name: 'README', body: 'two' },
        ]),
        {},
        root,
      );
      expect(error.code).toBe('PATH_CONFLICT');
      expect(error.entry).toBe('README');
      expect(await fsp.readFile(path.join(rootDir, 'Readme'), 'utf8')).toBe(
        'one',
      );
    });

    it('the registry folds case only when told to', () => {
      const folding = new PathRegistry({ foldCase: true });
      folding.claimFile('dir/A', 'dir/A');
      expect(() => folding.claimFile('DIR/a', 'DIR/a')).toThrow(
        expect.objectContaining({ code: 'PATH_CONFLICT' }),
      );
      const plain = new PathRegistry();
      plain.claimFile('dir/A', 'dir/A');
      expect(() => plain.claimFile('DIR/a', 'DIR/a')).not.toThrow();
    });
  });

  describe('what the volume held before the first attempt', () => {
    it('skip-existing keeps a file that was there; replaces one an earlier attempt wrote', async () => {
      await fsp.writeFile(path.join(rootDir, 'keep.txt'), 'user');
      const preexisting = new Preexisting(new Set(await inodesUnder(rootDir)));
      // An earlier attempt wrote mine.txt (after the record was taken).
      await fsp.writeFile(path.join(rootDir, 'mine.txt'), 'half of attempt 1');
      const result = await extract(
        await pack([
          { name: 'keep.txt', body: 'archive' },
          { name: 'mine.txt', body: 'archive' },
        ]),
        { conflict: 'skip-existing', preexisting },
      );
      expect(result.skipped).toBe(1);
      expect(await fsp.readFile(path.join(rootDir, 'keep.txt'), 'utf8')).toBe(
        'user',
      );
      expect(await fsp.readFile(path.join(rootDir, 'mine.txt'), 'utf8')).toBe(
        'archive',
      );
    });

    it("a pre-existing file reached through a link of the volume is still the user's", async () => {
      await fsp.mkdir(path.join(rootDir, 'real'));
      await fsp.writeFile(path.join(rootDir, 'real/keep.txt'), 'user');
      await fsp.symlink('real', path.join(rootDir, 'alias'));
      const preexisting = new Preexisting(new Set(await inodesUnder(rootDir)));
      const error = await failure(
        await pack([{ name: 'alias/keep.txt', body: 'archive' }]),
        { conflict: 'fail', preexisting },
      );
      expect(error.code).toBe('PATH_CONFLICT');
      expect(
        await fsp.readFile(path.join(rootDir, 'real/keep.txt'), 'utf8'),
      ).toBe('user');
    });
  });
});
