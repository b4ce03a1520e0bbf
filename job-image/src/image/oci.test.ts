/**
 * writeOciArchive on its own: what its layers hold (read back with tar-stream and by umoci, which
 * applies them as the image spec says), determinism, the compressed-layer cache, and its refusals.
 */
import { createHash } from 'node:crypto';
import { promises as fsp, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { unpackArchive } from '../__testUtils__/imageTools';
import { Layer, parseReference, writeOciArchive } from './oci';

const LONG = `/opt/${'a-long-directory-name/'.repeat(6)}file.txt`;

const layers = (source: string): Layer[] => [
  {
    name: 'base',
    entries: [
      {
        path: '/etc/passwd',
        type: 'file',
        content: 'root:x:0:0::/root:/sbin/nologin\n',
      },
      { path: '/tmp', type: 'directory', mode: 0o1777 },
      {
        path: '/home/nonroot',
        type: 'directory',
        mode: 0o700,
        uid: 65532,
        gid: 65532,
      },
      { path: '/usr/bin/tool', type: 'file', source, mode: 0o755 },
      { path: '/bin', type: 'symlink', target: 'usr/bin' },
      { path: LONG, type: 'file', content: 'deep' },
    ],
  },
  {
    name: 'top',
    entries: [{ path: '/etc/passwd', type: 'file', content: 'replaced\n' }],
  },
];

interface TarEntry {
  header: tar.Header;
  content: Buffer;
}

/** Every entry of a tar, in its order. */
async function readTar(bytes: Buffer): Promise<TarEntry[]> {
  const extract = tar.extract();
  const entries: TarEntry[] = [];
  const done = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      entries.push({ header: entry.header, content: Buffer.concat(chunks) });
    }
  })();
  extract.end(bytes);
  await done;
  return entries;
}

describe('writeOciArchive', () => {
  let work: string;
  let source: string;
  beforeAll(async () => {
    work = await fsp.mkdtemp(path.join(os.tmpdir(), 'kr-oci-'));
    source = path.join(work, 'tool');
    await fsp.writeFile(source, 'a program\n', { mode: 0o600 });
  });
  afterAll(() => fsp.rm(work, { recursive: true, force: true }));

  const write = (name: string, extra: object = {}) =>
    writeOciArchive({
      path: path.join(work, name),
      reference: 'example.test/team/thing:1.2.3',
      config: { User: '65532:65532', Entrypoint: ['/usr/bin/tool'] },
      layers: layers(source),
      created: new Date(0),
      ...extra,
    });

  it('writes layers whose entries are sorted, parents first, with fixed times, owners and modes', async () => {
    const image = await write('a.tar');
    const outer = await readTar(readFileSync(image.path));
    const blob = (digest: string) =>
      outer.find(e => e.header.name === `blobs/sha256/${digest.slice(7)}`)!
        .content;
    const blobs = outer.filter(
      e =>
        e.header.name.startsWith('blobs/sha256/') && e.header.type === 'file',
    );
    expect(outer.map(e => e.header.name)).toEqual([
      'blobs/',
      'blobs/sha256/',
      ...blobs.map(e => e.header.name).sort(),
      'index.json',
      'manifest.json',
      'oci-layout',
    ]);
    // Every blob is named by its digest: the manifest, its config and the two layers.
    expect(blobs).toHaveLength(4);
    for (const { header, content } of blobs) {
      expect(
        `sha256:${createHash('sha256').update(content).digest('hex')}`,
      ).toBe(`sha256:${header.name.slice(13)}`);
    }
    const manifest = JSON.parse(blob(image.digest).toString());
    const config = JSON.parse(blob(manifest.config.digest).toString());
    expect(config.rootfs.diff_ids).toEqual(image.layers.map(l => l.diffId));
    expect(
      config.history.map((h: { created_by: string }) => h.created_by),
    ).toEqual(['base', 'top']);
    expect(config.config).toEqual({
      User: '65532:65532',
      Entrypoint: ['/usr/bin/tool'],
    });

    const plain = gunzipSync(blob(image.layers[0].digest));
    expect(`sha256:${createHash('sha256').update(plain).digest('hex')}`).toBe(
      image.layers[0].diffId,
    );
    const layer = await readTar(plain);
    expect(layer.map(e => e.header.name)).toEqual([
      'bin',
      'etc/',
      'etc/passwd',
      'home/',
      'home/nonroot/',
      'opt/',
      ...Array.from(
        { length: 6 },
        (_, i) => `opt/${'a-long-directory-name/'.repeat(i + 1)}`,
      ),
      LONG.slice(1),
      'tmp/',
      'usr/',
      'usr/bin/',
      'usr/bin/tool',
    ]);
    for (const { header } of layer) {
      expect(header.mtime).toEqual(new Date(0));
      expect([header.uname, header.gname]).toEqual(['', '']);
    }
    const byName = Object.fromEntries(layer.map(e => [e.header.name, e]));
    expect(byName['home/nonroot/'].header).toMatchObject({
      uid: 65532,
      gid: 65532,
      mode: 0o700,
    });
    expect(byName['tmp/'].header).toMatchObject({
      uid: 0,
      gid: 0,
      mode: 0o1777,
    });
    expect(byName['usr/bin/tool'].header.mode).toBe(0o755);
    expect(byName['usr/bin/tool'].content.toString()).toBe('a program\n');
    expect(byName['etc/passwd'].header.mode).toBe(0o644);
    expect(byName.bin.header).toMatchObject({
      type: 'symlink',
      linkname: 'usr/bin',
    });
  });

  it('gives the same bytes for the same arguments, and another digest for another time', async () => {
    const [a, b] = [await write('same-1.tar'), await write('same-2.tar')];
    expect(b.digest).toBe(a.digest);
    expect(readFileSync(b.path).equals(readFileSync(a.path))).toBe(true);
    const later = await write('later.tar', {
      created: new Date('2026-01-01T00:00:00Z'),
    });
    expect(later.digest).not.toBe(a.digest);
  });

  it('takes its time from SOURCE_DATE_EPOCH when not given one', async () => {
    process.env.SOURCE_DATE_EPOCH = '1700000000';
    try {
      const image = await write('epoch.tar', { created: undefined });
      const config = (await readTar(readFileSync(image.path))).find(e =>
        e.content.toString().startsWith('{"created"'),
      );
      expect(JSON.parse(config!.content.toString()).created).toBe(
        '2023-11-14T22:13:20.000Z',
      );
      process.env.SOURCE_DATE_EPOCH = 'yesterday';
      await expect(write('epoch.tar', { created: undefined })).rejects.toThrow(
        /SOURCE_DATE_EPOCH must be whole seconds/,
      );
    } finally {
      delete process.env.SOURCE_DATE_EPOCH;
    }
  });

  it('reuses a compressed layer from its cache, and the image stays the same', async () => {
    const cacheDir = path.join(work, 'cache');
    const first = await write('cached-1.tar', { cacheDir });
    const cached = await fsp.readdir(cacheDir);
    expect(cached).toHaveLength(2);
    const second = await write('cached-2.tar', { cacheDir });
    expect(second.digest).toBe(first.digest);
    expect(second.digest).toBe((await write('uncached.tar')).digest);
  });

  it('unpacks with umoci into the files, owners and modes it lists; the upper layer wins', async () => {
    const image = await write('umoci.tar');
    const rootfs = await unpackArchive(
      image.path,
      '1.2.3',
      path.join(work, 'umoci'),
    );
    expect(readFileSync(path.join(rootfs, 'etc/passwd'), 'utf8')).toBe(
      'replaced\n',
    );
    expect(readFileSync(path.join(rootfs, LONG), 'utf8')).toBe('deep');
    expect(readFileSync(path.join(rootfs, 'bin/tool'), 'utf8')).toBe(
      'a program\n',
    );
    const home = await fsp.stat(path.join(rootfs, 'home/nonroot'));
    expect([home.uid, home.gid, home.mode & 0o7777]).toEqual([
      65532, 65532, 0o700,
    ]);
    expect((await fsp.stat(path.join(rootfs, 'tmp'))).mode & 0o7777).toBe(
      0o1777,
    );
    expect(
      (await fsp.stat(path.join(rootfs, 'usr/bin/tool'))).mode & 0o777,
    ).toBe(0o755);
  });

  it('refuses bad references, paths, modes, duplicates and files under files', async () => {
    const entries = (e: object[]) => ({ layers: [{ name: 'l', entries: e }] });
    expect(() => parseReference('Example.test/thing')).toThrow(
      /expected NAME:TAG/,
    );
    await expect(
      writeOciArchive({
        path: path.join(work, 'x.tar'),
        reference: 'thing',
        config: {},
        layers: [],
      }),
    ).rejects.toThrow(/invalid image reference "thing"/);
    await expect(
      write(
        'x.tar',
        entries([{ path: 'etc/passwd', type: 'file', content: '' }]),
      ),
    ).rejects.toThrow(/must be absolute and normal/);
    await expect(
      write('x.tar', entries([{ path: '/a/../b', type: 'file', content: '' }])),
    ).rejects.toThrow(/must be absolute and normal/);
    await expect(
      write(
        'x.tar',
        entries([{ path: '/a', type: 'directory', mode: 0o10000 }]),
      ),
    ).rejects.toThrow(/mode must be from 01 to 07777/);
    await expect(
      write(
        'x.tar',
        entries([
          { path: '/a', type: 'file', content: '' },
          { path: '/a', type: 'directory' },
        ]),
      ),
    ).rejects.toThrow(/"\/a": listed twice/);
    await expect(
      write(
        'x.tar',
        entries([
          { path: '/a', type: 'file', content: '' },
          { path: '/a/b', type: 'file', content: '' },
        ]),
      ),
    ).rejects.toThrow(/its parent \/a is a file/);
    await expect(
      write('x.tar', entries([{ path: '/a', type: 'file' }])),
    ).rejects.toThrow(/exactly one of content and source/);
    expect(await fsp.readdir(work)).not.toContain('x.tar');
  });
});
