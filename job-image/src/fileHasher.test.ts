import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureBundle } from './__testUtils__/job';
import { HASH_WORKER_FILE, HashWorkerPool } from './fileHasher';

let dir: string;
let pool: HashWorkerPool;
beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'kr-filehasher-'));
  // The worker as it ships: hash-worker.cjs, built by build.mjs beside the job's bundle.
  pool = new HashWorkerPool({
    workerFile: path.join(path.dirname(ensureBundle()), HASH_WORKER_FILE),
  });
});
afterAll(async () => {
  await pool.close();
  await fsp.rm(dir, { recursive: true, force: true });
});

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const sha256b64 = (b: Buffer) =>
  createHash('sha256').update(b).digest('base64');

describe('FileHasher', () => {
  it('hashes a file as it grows, in pieces, with several algorithms at once', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const file = path.join(dir, 'growing');
    const handle = await fsp.open(file, 'w');
    const hasher = pool.hash(file, [
      { name: 'md5', encoding: 'hex' },
      { name: 'sha256', encoding: 'base64' },
    ]);
    for (let at = 0; at < data.length; at += 700_000) {
      const piece = data.subarray(at, at + 700_000);
      await handle.write(piece, 0, piece.length, at);
      hasher.advance(at + piece.length);
      hasher.advance(at); // going backwards changes nothing
    }
    await handle.close();
    expect(await hasher.digests(data.length)).toEqual([
      md5(data),
      sha256b64(data),
    ]);
  });

  it('hashes only the first `size` bytes, and many files at once', async () => {
    const files = await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const data = randomBytes(100_000 + i);
        const file = path.join(dir, `many-${i}`);
        await fsp.writeFile(file, Buffer.concat([data, Buffer.from('tail')]));
        return { file, data };
      }),
    );
    const digests = await Promise.all(
      files.map(({ file, data }) =>
        pool
          .hash(file, [{ name: 'md5', encoding: 'hex' }])
          .digests(data.length),
      ),
    );
    expect(digests).toEqual(files.map(({ data }) => [md5(data)]));
  });

  it('fails when the file is shorter than the size, or missing', async () => {
    const file = path.join(dir, 'short');
    await fsp.writeFile(file, 'abc');
    await expect(
      pool.hash(file, [{ name: 'md5', encoding: 'hex' }]).digests(10),
    ).rejects.toThrow('hashing failed: the file ended at 3 before 10');
    await expect(
      pool
        .hash(path.join(dir, 'missing'), [{ name: 'md5', encoding: 'hex' }])
        .digests(1),
    ).rejects.toThrow(/hashing failed: ENOENT/);
  });

  it('an aborted hasher asks for nothing more, and digests() after the end throws', async () => {
    const file = path.join(dir, 'aborted');
    await fsp.writeFile(file, 'abc');
    const h = pool.hash(file, [{ name: 'md5', encoding: 'hex' }]);
    h.advance(3);
    h.abort();
    await expect(h.digests(3)).rejects.toThrow('digests() after the end');
    // the pool still works afterwards
    expect(
      await pool.hash(file, [{ name: 'md5', encoding: 'hex' }]).digests(3),
    ).toEqual([md5(Buffer.from('abc'))]);
  });
  describe('MD5 in shared SIMD lanes', () => {
    const lanes = { lanes: true };

    it('hashes files of every length growing side by side, more files than lanes, with a SHA-256 alongside', async () => {
      // around the block and padding edges (55/56/63/64), around a lane's 1 MiB, and more than
      // four at once, so that files wait, share runs, and finish in different runs
      const lengths = [
        0,
        1,
        55,
        56,
        63,
        64,
        65,
        119,
        120,
        1024 * 1024 - 1,
        1024 * 1024 + 1,
        3 * 1024 * 1024 + 17,
      ];
      const files = await Promise.all(
        lengths.map(async (n, i) => {
          const data = randomBytes(n);
          const file = path.join(dir, `lanes-${i}`);
          const handle = await fsp.open(file, 'w');
          const hasher = pool.hash(
            file,
            i % 3 === 0
              ? [
                  { name: 'md5', encoding: 'hex' },
                  { name: 'sha256', encoding: 'base64' },
                ]
              : [{ name: 'md5', encoding: i % 2 ? 'base64' : 'hex' }],
            lanes,
          );
          return { data, handle, hasher, i };
        }),
      );
      // write all files in interleaved pieces of uneven sizes
      for (let at = 0, more = true; more; at += 333_333) {
        more = false;
        for (const f of files) {
          const piece = f.data.subarray(at, at + 333_333 + f.i);
          if (piece.length === 0) continue;
          more = true;
          await f.handle.write(piece, 0, piece.length, at);
          f.hasher.advance(at + piece.length);
        }
      }
      const digests = await Promise.all(
        files.map(async f => {
          await f.handle.close();
          return f.hasher.digests(f.data.length);
        }),
      );
      expect(digests).toEqual(
        files.map(({ data, i }) =>
          i % 3 === 0
            ? [md5(data), sha256b64(data)]
            : [
                createHash('md5')
                  .update(data)
                  .digest(i % 2 ? 'base64' : 'hex'),
              ],
        ),
      );
    });

    it('puts up to four lane MD5s in one worker, the fifth and OpenSSL ones elsewhere', async () => {
      const own = new HashWorkerPool({
        workerFile: path.join(path.dirname(ensureBundle()), HASH_WORKER_FILE),
        size: 3,
      });
      try {
        const data = randomBytes(300_000);
        const file = path.join(dir, 'affinity');
        await fsp.writeFile(file, data);
        const md5Only = [{ name: 'md5' as const, encoding: 'hex' as const }];
        const inLanes = Array.from({ length: 5 }, () =>
          own.hash(file, md5Only, lanes),
        );
        const plain = own.hash(file, md5Only);
        expect(inLanes.map(h => h.workerIndex)).toEqual([0, 0, 0, 0, 1]);
        expect(plain.workerIndex).toBe(2);
        expect(
          await Promise.all(
            [...inLanes, plain].map(h => h.digests(data.length)),
          ),
        ).toEqual(Array.from({ length: 6 }, () => [md5(data)]));
        // every lane file finished: no worker has lanes open, so the next goes to the least busy
        const next = own.hash(file, md5Only, lanes);
        expect(next.workerIndex).toBe(0);
        next.abort();
      } finally {
        await own.close();
      }
    });

    it('gives no new file to a worker that crashed, even one with lanes open', async () => {
      const own = new HashWorkerPool({
        workerFile: path.join(path.dirname(ensureBundle()), HASH_WORKER_FILE),
        size: 1,
      });
      try {
        const data = randomBytes(100_000);
        const file = path.join(dir, 'crashed');
        await fsp.writeFile(file, data);
        const md5Only = [{ name: 'md5' as const, encoding: 'hex' as const }];
        const before = [
          own.hash(file, md5Only, lanes),
          own.hash(file, md5Only, lanes),
        ];
        expect(before.map(h => h.workerIndex)).toEqual([0, 0]);
        const workers = (
          own as unknown as {
            workers: Array<{ worker: { terminate(): Promise<number> } }>;
          }
        ).workers;
        await workers[0].worker.terminate();
        await Promise.all(
          before.map(h =>
            expect(h.digests(data.length)).rejects.toThrow(/exited/),
          ),
        );
        const after = own.hash(file, md5Only, lanes);
        expect(after.workerIndex).toBe(1);
        expect(await after.digests(data.length)).toEqual([md5(data)]);
      } finally {
        await own.close();
      }
    });

    it('hashes a file alone in the lanes (the scalar path) and next to OpenSSL ones', async () => {
      const data = randomBytes(2 * 1024 * 1024 + 100);
      const file = path.join(dir, 'alone');
      await fsp.writeFile(file, data);
      const inLanes = pool.hash(
        file,
        [{ name: 'md5', encoding: 'hex' }],
        lanes,
      );
      const plain = pool.hash(file, [{ name: 'md5', encoding: 'hex' }]);
      expect(
        await Promise.all([
          inLanes.digests(data.length),
          plain.digests(data.length),
        ]),
      ).toEqual([[md5(data)], [md5(data)]]);
    });

    it('a short file fails only its own hash, and the lanes go on', async () => {
      const good = randomBytes(200_000);
      const goodFile = path.join(dir, 'lanes-good');
      const shortFile = path.join(dir, 'lanes-short');
      await fsp.writeFile(goodFile, good);
      await fsp.writeFile(shortFile, good.subarray(0, 70_000));
      const short = pool.hash(
        shortFile,
        [{ name: 'md5', encoding: 'hex' }],
        lanes,
      );
      const fine = pool.hash(
        goodFile,
        [{ name: 'md5', encoding: 'hex' }],
        lanes,
      );
      const [shortResult, fineResult] = await Promise.allSettled([
        short.digests(good.length),
        fine.digests(good.length),
      ]);
      expect(shortResult).toMatchObject({
        status: 'rejected',
        reason: expect.objectContaining({
          message: expect.stringMatching(
            /^hashing failed: the file ended at \d+ before 200000$/,
          ),
        }),
      });
      expect(fineResult).toEqual({ status: 'fulfilled', value: [md5(good)] });
    });
  });
});
