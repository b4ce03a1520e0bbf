/**
 * The malicious tar corpus: every archive is made here with tar-stream's pack, extracted into a root
 * that has a sibling directory `outside`, and nothing may ever appear outside the root.
 */
import { execFileSync } from 'node:child_process';
import { Dirent, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import * as tar from 'tar-stream';
import type { RestoreError } from '../errors';
import { SafeRoot } from '../paths';
import {
  decompressed,
  extractTar,
  ExtractOptions,
  sniffArchive,
} from './extract';

type Entry = tar.Header extends infer H
  ? Partial<H> & { name: string; body?: Buffer | string }
  : never;

async function pack(entries: Entry[]): Promise<Buffer> {
  const p = tar.pack();
  const out: Buffer[] = [];
  const done = (async () => {
    for await (const chunk of p as AsyncIterable<Buffer>) out.push(chunk);
  })();
  for (const { body, ...header } of entries) {
    await new Promise<void>((resolve, reject) => {
      const content = body === undefined ? undefined : Buffer.from(body);
      p.entry(
        { ...header, size: header.size ?? content?.length ?? 0 } as tar.Header,
        content ?? Buffer.alloc(0),
        err => (err ? reject(err) : resolve()),
      );
    });
  }
  p.finalize();
  await done;
  return Buffer.concat(out);
}

/** `data` in chunks; `read.bytes` counts what the consumer took. */
async function* streamOf(
  data: Buffer,
  chunk = 4096,
  read = { bytes: 0 },
): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += chunk) {
    const part = data.subarray(i, i + chunk);
    read.bytes += part.length;
    yield part;
  }
}

/** `rel`, with `/` after a directory and ` -> target` after a symlink. */
async function treeLine(dir: string, e: Dirent, rel: string): Promise<string> {
  if (e.isSymbolicLink())
    return `${rel} -> ${await fsp.readlink(path.join(dir, e.name))}`;
  if (e.isDirectory()) return `${rel}/`;
  return rel;
}

async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, prefix: string) => {
    for (const e of await fsp.readdir(d, { withFileTypes: true })) {
      const rel = prefix ? `${prefix}/${e.name}` : e.name;
      out.push(await treeLine(d, e, rel));
      if (e.isDirectory()) await walk(path.join(d, e.name), rel);
    }
  };
  await walk(dir, '');
  return out.sort();
}

describe('extractTar', () => {
  let base: string;
  let rootDir: string;
  let outside: string;

  beforeEach(async () => {
    base = await fsp.mkdtemp(path.join(os.tmpdir(), 'kr-tar-'));
    rootDir = path.join(base, 'root');
    outside = path.join(base, 'outside');
    await fsp.mkdir(rootDir);
    await fsp.mkdir(outside);
    await fsp.writeFile(path.join(outside, 'victim'), 'original');
  });
  // The invariant of every test: nothing outside the root changed.
  async function expectNothingOutsideChanged() {
    expect(await listTree(outside)).toEqual(['victim']);
    expect(await fsp.readFile(path.join(outside, 'victim'), 'utf8')).toBe(
      'original',
    );
    expect(await fsp.readdir(base)).toEqual(['outside', 'root']);
  }

  afterEach(async () => {
    await expectNothingOutsideChanged();
    await fsp.rm(base, { recursive: true, force: true });
  });

  async function extract(
    archive: Buffer,
    options: Partial<ExtractOptions> = {},
    read = { bytes: 0 },
  ) {
    const root = await SafeRoot.open(rootDir);
    const { tar: stream } = await decompressed(
      streamOf(archive, 4096, read),
      'test.tar',
    );
    return extractTar(stream, {
      root,
      archive: 'test.tar',
      conflict: 'fail',
      canChown: false,
      ...options,
    });
  }

  async function failure(
    archive: Buffer,
    options: Partial<ExtractOptions> = {},
    read = { bytes: 0 },
  ): Promise<RestoreError> {
    try {
      await extract(archive, options, read);
    } catch (error) {
      return error as RestoreError;
    }
    throw new Error('the extraction succeeded');
  }

  it('extracts files, directories, symlinks and hardlinks with modes and mtimes', async () => {
    const mtime = new Date('2021-06-01T12:00:00Z');
    const archive = await pack([
      { name: 'app/', type: 'directory', mode: 0o750, mtime },
      { name: 'app/run.sh', body: '#!/bin/sh\necho hi\n', mode: 0o755, mtime },
      {
        name: 'app/data.bin',
        body: Buffer.alloc(300_000, 9),
        mode: 0o600,
        mtime,
      },
      { name: 'app/current', type: 'symlink', linkname: 'data.bin' },
      { name: 'app/again.bin', type: 'link', linkname: 'app/data.bin' },
      { name: 'app/empty', body: '' },
    ]);
    const result = await extract(archive);
    expect(result.files).toBe(4);
    expect(await listTree(rootDir)).toEqual([
      'app/',
      'app/again.bin',
      'app/current -> data.bin',
      'app/data.bin',
      'app/empty',
      'app/run.sh',
    ]);
    const run = await fsp.stat(path.join(rootDir, 'app/run.sh'));
    expect(run.mode & 0o777).toBe(0o755);
    expect(run.mtime.getTime()).toBe(mtime.getTime());
    expect((await fsp.stat(path.join(rootDir, 'app'))).mode & 0o777).toBe(
      0o750,
    );
    expect((await fsp.stat(path.join(rootDir, 'app'))).mtime.getTime()).toBe(
      mtime.getTime(),
    );
    expect((await fsp.stat(path.join(rootDir, 'app/again.bin'))).ino).toBe(
      (await fsp.stat(path.join(rootDir, 'app/data.bin'))).ino,
    );
  });

  it('a file written through a symlink in the volume counts as existing in a directory the archive made', async () => {
    // The volume's own link l -> d: d/f is first written as l/f; without looking, d/f would
    // silently replace it.
    await fsp.symlink('d', path.join(rootDir, 'l'));
    const archive = await pack([
      { name: 'd/', type: 'directory' },
      { name: 'l/f', body: 'one' },
      { name: 'd/f', body: 'two' },
    ]);
    const error = await failure(archive);
    expect(error.code).toBe('PATH_CONFLICT');
    expect(error.entry).toBe('d/f');
    expect(await fsp.readFile(path.join(rootDir, 'd/f'), 'utf8')).toBe('one');
  });

  it('a hardlink right behind a large file (its commit still running) links to it', async () => {
    const archive = await pack([
      { name: 'big.bin', body: Buffer.alloc(300_000, 7) },
      { name: 'same.bin', type: 'link', linkname: 'big.bin' },
    ]);
    expect((await extract(archive)).files).toBe(2);
    const big = await fsp.stat(path.join(rootDir, 'big.bin'));
    expect(big.size).toBe(300_000);
    expect((await fsp.stat(path.join(rootDir, 'same.bin'))).ino).toBe(big.ino);
  });

  it('a failure after a large file was written (its commit detached) ends the extraction', async () => {
    const archive = await pack([
      { name: 'big.bin', body: Buffer.alloc(300_000, 7) },
      { name: 'next.txt', body: 'n' },
    ]);
    const seen: string[] = [];
    await expect(
      extract(archive, {
        onEntry: line => {
          seen.push(line.path);
          if (line.path === 'big.bin')
            throw new Error('the manifest is not writable');
        },
      }),
    ).rejects.toThrow('the manifest is not writable');
    expect(seen).toContain('big.bin');
    expect((await fsp.stat(path.join(rootDir, 'big.bin'))).size).toBe(300_000);
    expect(
      (await fsp.readdir(rootDir)).filter(n => n.startsWith('.kr-tmp')),
    ).toEqual([]);
  });

  it('extracts tar.gz, sniffed by magic bytes', async () => {
    const archive = zlib.gzipSync(
      await pack([{ name: 'a.txt', body: 'hello' }]),
    );
    expect(sniffArchive(archive)).toBe('gzip');
    await extract(archive);
    expect(await fsp.readFile(path.join(rootDir, 'a.txt'), 'utf8')).toBe(
      'hello',
    );
  });

  it("extracts tar.zst with the runtime's zstd (Node >= 22.15), sniffed by magic bytes", async () => {
    const { zstdCompressSync } = zlib as unknown as {
      zstdCompressSync(data: Buffer): Buffer;
    };
    const body = Buffer.alloc(3 * 1024 * 1024, 'z');
    const archive = zstdCompressSync(
      await pack([
        { name: 'a.txt', body: 'hello' },
        { name: 'big.bin', body },
      ]),
    );
    expect(sniffArchive(archive)).toBe('zstd');
    await extract(archive);
    expect(await fsp.readFile(path.join(rootDir, 'a.txt'), 'utf8')).toBe(
      'hello',
    );
    expect(
      (await fsp.readFile(path.join(rootDir, 'big.bin'))).equals(body),
    ).toBe(true);
  });

  it('on a runtime without zstd (Node 20), a .tar.zst is INVALID_ARCHIVE saying which Node can', async () => {
    const { zstdCompressSync } = zlib as unknown as {
      zstdCompressSync(data: Buffer): Buffer;
    };
    const archive = zstdCompressSync(
      await pack([{ name: 'a.txt', body: 'a' }]),
    );
    // node:zlib's exports are read-only but configurable: take zstd away for this test only
    const name = 'createZstdDecompress';
    const descriptor = Object.getOwnPropertyDescriptor(zlib, name)!;
    Object.defineProperty(zlib, name, { ...descriptor, value: undefined });
    let error: RestoreError;
    try {
      error = await failure(archive);
    } finally {
      Object.defineProperty(zlib, name, descriptor);
    }
    expect(error).toMatchObject({
      code: 'INVALID_ARCHIVE',
      entry: 'test.tar',
      message: `"test.tar" is zstd-compressed; this Node runtime (${process.version}) cannot decompress zstd (Node >= 22.15 can)`,
    });
    expect(await listTree(rootDir)).toEqual([]);
  });

  it('applies stripPrefix and include/exclude', async () => {
    const archive = await pack([
      { name: 'backup/keep/a.txt', body: 'a' },
      { name: 'backup/keep/b.log', body: 'b' },
      { name: 'other/c.txt', body: 'c' },
    ]);
    await extract(archive, { stripPrefix: 'backup/', exclude: ['**/*.log'] });
    expect(await listTree(rootDir)).toEqual(['keep/', 'keep/a.txt']);
  });

  it.each([
    [
      'a ".." traversal',
      [{ name: '../outside/victim', body: 'pwned' }],
      '../outside/victim',
      'UNSAFE_PATH',
    ],
    [
      'a nested traversal',
      [{ name: 'a/../../outside/victim', body: 'pwned' }],
      'a/../../outside/victim',
      'UNSAFE_PATH',
    ],
    [
      'an absolute path',
      [{ name: '/etc/passwd', body: 'pwned' }],
      '/etc/passwd',
      'UNSAFE_PATH',
    ],
    [
      'a symlink to an absolute path',
      [{ name: 'l', type: 'symlink', linkname: '/etc' }],
      'l',
      'UNSAFE_PATH',
    ],
    [
      'a symlink that climbs out',
      [{ name: 'l', type: 'symlink', linkname: '../outside' }],
      'l',
      'UNSAFE_PATH',
    ],
    [
      'a file written through an escaping symlink',
      [
        { name: 'd/', type: 'directory' },
        { name: 'd/l', type: 'symlink', linkname: '../../outside' },
        { name: 'd/l/victim', body: 'pwned' },
      ],
      'd/l',
      'UNSAFE_PATH',
    ],
    [
      'two symlinks that escape only together',
      [
        { name: 's', type: 'symlink', linkname: '.' },
        { name: 't', type: 'symlink', linkname: 's/..' },
        { name: 't/outside/victim', body: 'pwned' },
      ],
      't',
      'UNSAFE_PATH',
    ],
    [
      'a symlink made to escape by a later one (a -> b/../outside, b -> .)',
      [
        { name: 'a', type: 'symlink', linkname: 'b/../outside' },
        { name: 'b', type: 'symlink', linkname: '.' },
      ],
      'a',
      'UNSAFE_PATH',
    ],
    [
      'a hardlink to a file outside',
      [{ name: 'h', type: 'link', linkname: '../outside/victim' }],
      'h',
      'UNSAFE_PATH',
    ],
    [
      'a hardlink through an escaping symlink',
      [
        { name: 'x', type: 'symlink', linkname: 'y' },
        { name: 'h', type: 'link', linkname: '/etc/passwd' },
      ],
      'h',
      'UNSAFE_PATH',
    ],
    [
      'a character device',
      [{ name: 'null', type: 'character-device', devmajor: 1, devminor: 3 }],
      'null',
      'UNSAFE_PATH',
    ],
    [
      'a block device',
      [{ name: 'sda', type: 'block-device', devmajor: 8, devminor: 0 }],
      'sda',
      'UNSAFE_PATH',
    ],
    ['a fifo', [{ name: 'pipe', type: 'fifo' }], 'pipe', 'UNSAFE_PATH'],
    [
      'our own manifest',
      [{ name: '.kube-restore/manifest.jsonl', body: '{}' }],
      '.kube-restore/manifest.jsonl',
      'UNSAFE_PATH',
    ],
    [
      'two entries on one path',
      [
        { name: 'dup', body: '1' },
        { name: './dup', body: '2' },
      ],
      './dup',
      'PATH_CONFLICT',
    ],
    [
      'a file where a directory must go',
      [
        { name: 'a', body: '1' },
        { name: 'a/b', body: '2' },
      ],
      'a/b',
      'PATH_CONFLICT',
    ],
  ] as Array<[string, Entry[], string, string]>)(
    'refuses %s, naming the entry',
    async (_, entries, entry, code) => {
      const error = await failure(await pack(entries));
      expect(error.code).toBe(code);
      expect(error.entry).toBe(entry);
      expect(error.message).toContain(entry);
    },
  );

  it('refuses a declared size that lies (header says more than the data)', async () => {
    const good = await pack([{ name: 'a.txt', body: 'x'.repeat(1000) }]);
    // Claim 100000 bytes in the header (octal size field at 124, 12 bytes) and fix the checksum.
    const lying = Buffer.from(good);
    lying.write('00000303240\0', 124, 'latin1');
    lying.fill(' ', 148, 156);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += lying[i];
    lying.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    const error = await failure(lying);
    expect(['INVALID_ARCHIVE']).toContain(error.code);
    expect(await listTree(rootDir)).toEqual([]);
  });

  it('refuses a truncated archive and leaves no half-written file under its name', async () => {
    const good = await pack([
      { name: 'small.txt', body: 'ok' },
      { name: 'big.bin', body: Buffer.alloc(200_000, 1) },
    ]);
    const error = await failure(good.subarray(0, 1024 + 100_000));
    expect(error.code).toBe('INVALID_ARCHIVE');
    expect(await listTree(rootDir)).toEqual(['small.txt']);
  });

  it('refuses a truncated tar.gz', async () => {
    const gz = zlib.gzipSync(
      await pack([{ name: 'big.bin', body: Buffer.alloc(200_000, 1) }]),
    );
    const error = await failure(gz.subarray(0, gz.length - 20));
    expect(error.code).toBe('INVALID_ARCHIVE');
    expect(await listTree(rootDir)).toEqual([]);
  });

  it('stops a decompression bomb before writing it (1 GiB declared, 4 MiB tmpfs volume)', async () => {
    // About 1 MiB of gzip that inflates to a 1 GiB file of zeros.
    const p = tar.pack();
    const gzip = zlib.createGzip({ level: 1 });
    const gzChunks: Buffer[] = [];
    gzip.on('data', (d: Buffer) => gzChunks.push(d));
    const gzDone = new Promise(r => gzip.on('end', r));
    const piping = (async () => {
      for await (const c of p as AsyncIterable<Buffer>)
        if (!gzip.write(c)) await new Promise(r => gzip.once('drain', r));
      gzip.end();
    })();
    const entry = p.entry({
      name: 'bomb.bin',
      size: 2 ** 30,
    }) as unknown as NodeJS.WritableStream;
    const zero = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < 1024; i++) {
      if (!entry.write(zero))
        await new Promise<void>(r => entry.once('drain', () => r()));
    }
    entry.end();
    p.finalize();
    await piping;
    await gzDone;
    const bomb = Buffer.concat(gzChunks);
    expect(bomb.length).toBeLessThan(8 * 1024 * 1024);

    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', rootDir]);
    try {
      const read = { bytes: 0 };
      const error = await failure(
        bomb,
        { freeSpaceCheckBytes: 1024 * 1024 },
        read,
      );
      expect(error.code).toBe('NO_SPACE');
      expect(error.entry).toBe('bomb.bin');
      // It stopped at the full volume, not at the end of the 1 GiB: it read a few of the
      // archive's 4.5 MB (64 KiB, about 14 MiB inflated, when written), not all of it.
      expect(read.bytes).toBeLessThan(bomb.length / 16);
      expect(await listTree(rootDir)).toEqual([]);
    } finally {
      execFileSync('umount', [rootDir]);
    }
  }, 60_000);

  it('refuses what is not a tar at all', async () => {
    const error = await failure(
      Buffer.from(
        'this is not an archive, just some text that goes on for a while'.repeat(
          20,
        ),
      ),
    );
    expect(error.code).toBe('INVALID_ARCHIVE');
  });
});
