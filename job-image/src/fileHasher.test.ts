import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileHasher, stopHashWorkers } from './fileHasher';

let dir: string;
beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'kr-filehasher-'));
});
afterAll(async () => {
  await stopHashWorkers();
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
    const hasher = new FileHasher(file, [
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
        new FileHasher(file, [{ name: 'md5', encoding: 'hex' }]).digests(
          data.length,
        ),
      ),
    );
    expect(digests).toEqual(files.map(({ data }) => [md5(data)]));
  });

  it('fails when the file is shorter than the size, or missing', async () => {
    const file = path.join(dir, 'short');
    await fsp.writeFile(file, 'abc');
    await expect(
      new FileHasher(file, [{ name: 'md5', encoding: 'hex' }]).digests(10),
    ).rejects.toThrow('hashing failed: the file ended at 3 before 10');
    await expect(
      new FileHasher(path.join(dir, 'missing'), [
        { name: 'md5', encoding: 'hex' },
      ]).digests(1),
    ).rejects.toThrow(/hashing failed: ENOENT/);
  });

  it('an aborted hasher asks for nothing more, and digests() after the end throws', async () => {
    const file = path.join(dir, 'aborted');
    await fsp.writeFile(file, 'abc');
    const h = new FileHasher(file, [{ name: 'md5', encoding: 'hex' }]);
    h.advance(3);
    h.abort();
    await expect(h.digests(3)).rejects.toThrow('digests() after the end');
    // the pool still works afterwards
    expect(
      await new FileHasher(file, [{ name: 'md5', encoding: 'hex' }]).digests(3),
    ).toEqual([md5(Buffer.from('abc'))]);
  });
});
