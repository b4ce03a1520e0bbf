import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  liveTemporaryFiles,
  SMALL_FILE_BYTES,
  writeFileAtomically,
} from './writeFileAtomically';

async function* chunks(
  n: number,
  size: number,
  failAt?: number,
): AsyncGenerator<Buffer> {
  for (let i = 0; i < n; i++) {
    if (i === failAt)
      throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    yield Buffer.alloc(size, i % 256);
  }
}

describe('writeFileAtomically', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'kr-write-'));
  });
  afterEach(() => fsp.rm(dir, { recursive: true, force: true }));

  it('writes the whole body under its final name with mode and mtime', async () => {
    const file = path.join(dir, 'f');
    const mtime = new Date('2020-01-02T03:04:05Z');
    const { bytes } = await writeFileAtomically(file, chunks(40, 100_000), {
      mode: 0o640,
      mtime,
    });
    expect(bytes).toBe(4_000_000);
    const st = await fsp.stat(file);
    expect(st.size).toBe(4_000_000);
    expect(st.mode & 0o777).toBe(0o640);
    expect(st.mtime.getTime()).toBe(mtime.getTime());
    const data = await fsp.readFile(file);
    expect(data[100_000 * 39]).toBe(39);
    expect(await fsp.readdir(dir)).toEqual(['f']);
  });

  it('leaves no final name and no temporary when the body breaks', async () => {
    const file = path.join(dir, 'f');
    await expect(
      writeFileAtomically(file, chunks(40, 100_000, 20)),
    ).rejects.toThrow('ECONNRESET');
    expect(await fsp.readdir(dir)).toEqual([]);
    expect(liveTemporaryFiles()).toEqual([]);
  });

  it('leaves the old file alone when verification refuses the new one', async () => {
    const file = path.join(dir, 'f');
    await fsp.writeFile(file, 'old');
    await expect(
      writeFileAtomically(file, chunks(3, 10), {
        verify: () => {
          throw new Error('checksum mismatch');
        },
      }),
    ).rejects.toThrow('checksum mismatch');
    expect(await fsp.readFile(file, 'utf8')).toBe('old');
    expect(await fsp.readdir(dir)).toEqual(['f']);
  });

  it('small bodies (in one go) and bodies just past the limit (streamed) keep bytes, mode and mtime', async () => {
    const mtime = new Date('2021-05-06T07:08:09Z');
    for (const [name, n] of [
      ['tiny', 1],
      ['empty', 0],
      ['at-limit', SMALL_FILE_BYTES / 1024],
      ['past-limit', SMALL_FILE_BYTES / 1024 + 1],
    ] as const) {
      const file = path.join(dir, name);
      const { bytes } = await writeFileAtomically(file, chunks(n, 1024), {
        mode: 0o600,
        mtime,
      });
      expect(bytes).toBe(n * 1024);
      const data = await fsp.readFile(file);
      expect(data.length).toBe(n * 1024);
      // the last chunk's fill byte (chunks() fills chunk i with i % 256)
      expect(data.subarray((n - 1) * 1024)).toEqual(
        Buffer.alloc(n > 0 ? 1024 : 0, (n - 1) % 256),
      );
      const st = await fsp.stat(file);
      expect(st.mode & 0o777).toBe(0o600);
      expect(st.mtime.getTime()).toBe(mtime.getTime());
    }
    const buffer = path.join(dir, 'buffer');
    await writeFileAtomically(buffer, Buffer.from('hello'));
    expect(await fsp.readFile(buffer, 'utf8')).toBe('hello');
    const streamed = path.join(dir, 'streamed');
    await writeFileAtomically(streamed, chunks(2, 10), { syncSmall: false });
    expect((await fsp.readFile(streamed)).length).toBe(20);
    expect((await fsp.readdir(dir)).sort()).toEqual(
      ['at-limit', 'buffer', 'empty', 'past-limit', 'streamed', 'tiny'].sort(),
    );
  });

  it('a small body into a missing directory fails with ENOENT and leaves nothing', async () => {
    await expect(
      writeFileAtomically(path.join(dir, 'no', 'f'), chunks(1, 10)),
    ).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await fsp.readdir(dir)).toEqual([]);
  });

  it('with detachCommit, a streamed body gets its final name only when `committed` resolves', async () => {
    const file = path.join(dir, 'f');
    const { bytes, committed } = await writeFileAtomically(
      file,
      chunks(4, 100_000),
      { detachCommit: true, mode: 0o600 },
    );
    expect(bytes).toBe(400_000);
    expect(committed).toBeInstanceOf(Promise);
    // The commit is a chain of calls on the thread pool: it cannot have renamed yet.
    await expect(fsp.lstat(file)).rejects.toMatchObject({ code: 'ENOENT' });
    await committed;
    const st = await fsp.stat(file);
    expect(st.size).toBe(400_000);
    expect(st.mode & 0o777).toBe(0o600);
    expect(await fsp.readdir(dir)).toEqual(['f']);
    expect(liveTemporaryFiles()).toEqual([]);
  });

  it('with detachCommit, a commit that fails rejects `committed` and leaves no temporary', async () => {
    const file = path.join(dir, 'f');
    // A non-empty directory under the final name: the rename fails.
    await fsp.mkdir(file);
    await fsp.writeFile(path.join(file, 'inside'), 'x');
    const { committed } = await writeFileAtomically(file, chunks(4, 100_000), {
      detachCommit: true,
    });
    await expect(committed).rejects.toMatchObject({
      code: expect.stringMatching(/^(EISDIR|ENOTEMPTY|EEXIST)$/),
    });
    expect(await fsp.readdir(dir)).toEqual(['f']);
    expect(await fsp.readdir(file)).toEqual(['inside']);
    expect(liveTemporaryFiles()).toEqual([]);
  });

  it('with detachCommit, a small body is committed before the return', async () => {
    const file = path.join(dir, 'f');
    const { committed } = await writeFileAtomically(file, chunks(1, 10), {
      detachCommit: true,
    });
    expect(committed).toBeUndefined();
    expect((await fsp.stat(file)).size).toBe(10);
  });
});
