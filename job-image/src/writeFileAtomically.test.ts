import fs, { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setBeforeFinalStepHook } from './dirOps';
import { liveTemporaryFiles } from './temporaries';
import {
  SMALL_FILE_BYTES,
  TempFile,
  WRITE_BEHIND_BYTES,
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

  it('asks a one-go policy at the end of a small body, and tells it how long a write in one go took', async () => {
    const times: number[] = [];
    let oneGo = true;
    const policy = {
      inOneGo: () => oneGo,
      createAhead: () => false,
      took: (ms: number) => times.push(ms),
    };
    const opened: string[] = [];
    let verifications = 0;
    const write = (name: string, body: AsyncIterable<Buffer> | Buffer) =>
      writeFileAtomically(path.join(dir, name), body, {
        syncSmall: policy,
        mode: 0o600,
        onOpen: tmp => opened.push(tmp),
        verify: bytes => {
          verifications++;
          if (bytes === 13) throw new Error('refused');
        },
      });

    await write('a', chunks(3, 1000));
    await write('b', Buffer.alloc(10, 1));
    expect(times).toHaveLength(2);
    expect(times.every(ms => ms >= 0)).toBe(true);
    // in one go: no temporary file was opened before the body ended
    expect(opened).toEqual([]);

    oneGo = false;
    await write('c', chunks(3, 1000));
    await write('d', Buffer.alloc(10, 2));
    // through the thread pool: a temporary file each, the policy told nothing
    expect(opened).toHaveLength(2);
    expect(times).toHaveLength(2);
    expect((await fsp.readFile(path.join(dir, 'c'))).length).toBe(3000);
    expect(await fsp.readFile(path.join(dir, 'd'))).toEqual(
      Buffer.alloc(10, 2),
    );
    expect((await fsp.stat(path.join(dir, 'c'))).mode & 0o777).toBe(0o600);
    // a body the verification refuses, on the pool path: nothing under its name, no temporary left
    await expect(write('e', chunks(1, 13))).rejects.toThrow('refused');
    expect((await fsp.readdir(dir)).sort()).toEqual(['a', 'b', 'c', 'd']);
    // past SMALL_FILE_BYTES the policy is not asked: the body streams as before
    oneGo = true;
    await write('big', chunks(2, SMALL_FILE_BYTES));
    expect(times).toHaveLength(2);
    // c, d and big: the refused small body never got a temporary file
    expect(opened).toHaveLength(3);
    // each body verified once, whichever way it was written
    expect(verifications).toBe(6);
    // a write in one go that fails is timed too (a hung file system that then fails held the thread)
    await expect(
      write(path.join('missing', 'f'), chunks(1, 10)),
    ).rejects.toMatchObject({
      code: 'ENOENT',
    });
    expect(times).toHaveLength(3);
  });

  it('with its temporary made ahead, a small body keeps bytes, mode and mtime, and the policy hears of the rest', async () => {
    const took: Array<[number, boolean | undefined]> = [];
    const policy = {
      inOneGo: () => true,
      createAhead: () => true,
      took: (ms: number, ahead?: boolean) => took.push([ms, ahead]),
    };
    const mtime = new Date('2020-02-03T04:05:06Z');
    const opened: string[] = [];
    const write = (name: string, body: AsyncIterable<Buffer> | Buffer) =>
      writeFileAtomically(path.join(dir, name), body, {
        syncSmall: policy,
        mode: 0o640,
        mtime,
        onOpen: tmp => opened.push(tmp),
      });
    await Promise.all([
      write('a', chunks(3, 1000)),
      write('b', Buffer.alloc(10, 1)),
      write('c', chunks(1, 0)),
    ]);
    expect((await fsp.readdir(dir)).sort()).toEqual(['a', 'b', 'c']);
    expect(await fsp.readFile(path.join(dir, 'b'))).toEqual(
      Buffer.alloc(10, 1),
    );
    expect((await fsp.readFile(path.join(dir, 'a'))).length).toBe(3000);
    const stat = await fsp.stat(path.join(dir, 'a'));
    expect(stat.mode & 0o777).toBe(0o640);
    expect(stat.mtimeMs).toBe(mtime.getTime());
    // no streaming temporary; each write told the policy, as made ahead
    expect(opened).toEqual([]);
    expect(took.map(([ms, ahead]) => [ms >= 0, ahead])).toEqual([
      [true, true],
      [true, true],
      [true, true],
    ]);
    // a failure leaves neither a final name nor a temporary, and is no live temporary
    await expect(
      write(path.join('missing', 'f'), chunks(1, 10)),
    ).rejects.toMatchObject({ code: 'ENOENT' });
    expect(liveTemporaryFiles()).toEqual([]);
    await fsp.mkdir(path.join(dir, 'd'));
    await expect(write('d', Buffer.alloc(5))).rejects.toMatchObject({
      code: 'EISDIR',
    });
    expect((await fsp.readdir(dir)).sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(await fsp.readdir(path.join(dir, 'd'))).toEqual([]);
    expect(liveTemporaryFiles()).toEqual([]);
  });

  it('a small body into a missing directory fails with ENOENT and leaves nothing', async () => {
    await expect(
      writeFileAtomically(path.join(dir, 'no', 'f'), chunks(1, 10)),
    ).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await fsp.readdir(dir)).toEqual([]);
  });

  it('with detachCommit, a streamed body gets its final name only when `committed` resolves', async () => {
    const file = path.join(dir, 'f');
    // Right before the rename (the commit's last step): had the caller got its answer already, and
    // was the final name there yet? (An lstat raced the commit's pool calls, and once lost.)
    let atRename: [boolean, boolean] | undefined;
    let returned = false;
    setBeforeFinalStepHook(() => {
      atRename = [returned, fs.existsSync(file)];
    });
    try {
      const { bytes, committed } = await writeFileAtomically(
        file,
        chunks(4, 100_000),
        { detachCommit: true, mode: 0o600 },
      );
      returned = true;
      expect(bytes).toBe(400_000);
      expect(committed).toBeInstanceOf(Promise);
      await committed;
    } finally {
      setBeforeFinalStepHook(undefined);
    }
    expect(atRename).toEqual([true, false]);
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

  describe('write-behind', () => {
    // FileHandle is not exported by node:fs; its prototype is that of any open handle.
    let datasync: jest.SpyInstance;
    let FileHandleProto: { datasync(): Promise<void> };
    let realDatasync: () => Promise<void>;
    beforeAll(async () => {
      const h = await fsp.open(__filename, 'r');
      FileHandleProto = Object.getPrototypeOf(h);
      realDatasync = FileHandleProto.datasync;
      await h.close();
    });
    beforeEach(() => {
      datasync = jest.spyOn(FileHandleProto, 'datasync');
    });
    afterEach(() => {
      datasync.mockRestore();
    });
    const MiB = 1024 * 1024;
    // 1 MiB chunks, each filled with its index, so that a lost or misplaced write shows.
    const mib = (n: number) => chunks(n, MiB);

    it('flushes a large file while it is written, not only at its commit', async () => {
      // The first flush hangs until released: the counts below do not depend on the disk's speed.
      let release: () => void = () => undefined;
      const gate = new Promise<void>(resolve => (release = resolve));
      datasync.mockImplementationOnce(async function flush(this: unknown) {
        await gate;
        return realDatasync.call(this);
      });
      const file = path.join(dir, 'f');
      const temp = await TempFile.create(file);
      const step = WRITE_BEHIND_BYTES / MiB;
      const total = (step * 5) / 2;
      const releaseBefore = 2 * step + 4;
      const flushesAfter: number[] = [];
      for (let i = 0; i < total; i++) {
        if (i === releaseBefore) {
          release();
          await datasync.mock.results[0].value;
          await new Promise(resolve => setImmediate(resolve)); // its finally() ran
        }
        await temp.writeAt([Buffer.alloc(MiB, i)], i * MiB);
        flushesAfter.push(datasync.mock.calls.length);
      }
      // Started by the writes themselves, at each step written since the last one; none while
      // one is running (past 2 steps), the next at the first write after it ended.
      expect(flushesAfter).toEqual([
        ...Array(step - 1).fill(0),
        ...Array(releaseBefore - step + 1).fill(1),
        ...Array(total - releaseBefore).fill(2),
      ]);
      await temp.commit({}, { fsync: true });
      expect(datasync).toHaveBeenCalledTimes(3);
      const data = await fsp.readFile(file);
      expect(data.length).toBe(total * MiB);
      for (let i = 0; i < total; i++) expect(data[i * MiB + 7]).toBe(i % 256);
      expect(await fsp.readdir(dir)).toEqual(['f']);
    });

    it('does not flush files smaller than the write-behind step, nor any when fsync is off', async () => {
      await writeFileAtomically(
        path.join(dir, 'small'),
        mib(WRITE_BEHIND_BYTES / MiB - 1),
        { fsync: false },
      );
      expect(datasync).not.toHaveBeenCalled();
      await writeFileAtomically(
        path.join(dir, 'large'),
        mib((WRITE_BEHIND_BYTES * 2) / MiB),
        { fsyncMinBytes: Infinity },
      );
      expect(datasync).not.toHaveBeenCalled();
      expect((await fsp.stat(path.join(dir, 'large'))).size).toBe(
        WRITE_BEHIND_BYTES * 2,
      );
    });

    it('a background flush that fails (EIO) fails the file even when the commit syncs nothing more', async () => {
      datasync.mockRejectedValueOnce(
        Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }),
      );
      const file = path.join(dir, 'f');
      await fsp.writeFile(file, 'old');
      await expect(
        writeFileAtomically(file, mib(WRITE_BEHIND_BYTES / MiB + 2), {
          fsync: false,
        }),
      ).rejects.toMatchObject({ code: 'EIO' });
      expect(datasync).toHaveBeenCalledTimes(1);
      expect(await fsp.readFile(file, 'utf8')).toBe('old');
      expect(await fsp.readdir(dir)).toEqual(['f']);
      expect(liveTemporaryFiles()).toEqual([]);
    });

    it('a filesystem without fdatasync (EINVAL) stops write-behind for the file and keeps it', async () => {
      datasync.mockRejectedValue(
        Object.assign(new Error('EINVAL: invalid argument, fdatasync'), {
          code: 'EINVAL',
        }),
      );
      const file = path.join(dir, 'f');
      await writeFileAtomically(file, mib((WRITE_BEHIND_BYTES * 3) / MiB), {
        fsync: false,
      });
      expect(datasync).toHaveBeenCalledTimes(1);
      expect((await fsp.stat(file)).size).toBe(WRITE_BEHIND_BYTES * 3);
    });

    it('one flush at a time in the process: files written side by side take turns', async () => {
      let release: () => void = () => undefined;
      const gate = new Promise<void>(resolve => {
        release = resolve;
      });
      datasync.mockImplementationOnce(() => gate);
      const n = (WRITE_BEHIND_BYTES * 2) / MiB;
      const a = writeFileAtomically(path.join(dir, 'a'), mib(n), {
        fsync: false,
      });
      const b = writeFileAtomically(path.join(dir, 'b'), mib(n), {
        fsync: false,
      });
      // The file whose flush hangs cannot commit; the other one ends, past two steps, without a
      // flush of its own while the first one is in flight.
      await Promise.race([a, b]);
      expect(datasync).toHaveBeenCalledTimes(1);
      release();
      await Promise.all([a, b]);
      expect((await fsp.stat(path.join(dir, 'a'))).size).toBe(n * MiB);
      expect((await fsp.stat(path.join(dir, 'b'))).size).toBe(n * MiB);
    });
  });
});
