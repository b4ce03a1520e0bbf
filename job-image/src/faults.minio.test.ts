/**
 * Faults, through a fault-injecting proxy in front of a real MinIO: connections reset mid-object,
 * 503 storms, corrupted bytes; SIGTERM mid-restore and a resumed run; a full volume (tmpfs).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import * as tar from 'tar-stream';
import {
  EXIT_CODE_FATAL,
  EXIT_CODE_RETRYABLE,
  MANIFEST_FILE,
  RestoreRequestInput,
} from '@kube-restore/common';
import { FaultProxy, getOf } from './__testUtils__/faultProxy';
import { readTree, runJob, temporaries } from './__testUtils__/job';
import { MinioServer, startMinio } from './__testUtils__/minio';

jest.setTimeout(120_000);

let minio: MinioServer;
let proxy: FaultProxy;
let base: string;
let n = 0;
const objects = new Map<string, Buffer>();
let archiveGz: Buffer;

function body(seed: number, size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (seed * 131 + i * 7 + (i >> 8)) & 0xff;
  return b;
}

async function newTarget(): Promise<string> {
  const dir = path.join(base, `t${++n}`);
  await fsp.mkdir(dir);
  return dir;
}

function request(
  source: Record<string, unknown>,
  options: Record<string, unknown> = {},
): RestoreRequestInput {
  return {
    name: `f${n}`,
    source: {
      endpoint: proxy.endpoint,
      bucket: 'faults',
      ...source,
    } as RestoreRequestInput['source'],
    target: { namespace: 'team-a', pvc: 'data' },
    options,
  };
}

const credentials = () => ({
  accessKeyId: minio.accessKey,
  secretAccessKey: minio.secretKey,
});
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

async function expectRestored(target: string, prefix: string) {
  const tree = await readTree(target);
  const expected = [...objects].filter(([k]) => k.startsWith(prefix));
  expect([...tree.keys()].sort()).toEqual(
    expected.map(([k]) => k.slice(prefix.length)).sort(),
  );
  for (const [k, v] of expected)
    expect(md5(tree.get(k.slice(prefix.length))!)).toBe(md5(v));
}

beforeAll(async () => {
  base = await fsp.mkdtemp(path.join(os.tmpdir(), 'kr-faults-'));
  minio = await startMinio();
  proxy = await FaultProxy.start(minio.endpoint);
  await minio.createBucket('faults');
  const put = async (key: string, b: Buffer) => {
    await minio.put('faults', key, b);
    objects.set(key, b);
  };
  for (let i = 0; i < 8; i++) await put(`small/${i}.bin`, body(i, 200_000));
  await put('large/twelve.bin', body(99, 12 * 1024 * 1024 + 333));
  for (let i = 0; i < 40; i++)
    await put(
      `many/${String(i).padStart(2, '0')}.bin`,
      body(i + 10, 256 * 1024),
    );
  const p = tar.pack();
  const chunks: Buffer[] = [];
  const collecting = (async () => {
    for await (const c of p as AsyncIterable<Buffer>) chunks.push(c);
  })();
  for (let i = 0; i < 5; i++) {
    await new Promise<void>((resolve, reject) =>
      p.entry({ name: `part${i}.bin` }, body(i + 50, 400_000), e =>
        e ? reject(e) : resolve(),
      ),
    );
  }
  p.finalize();
  await collecting;
  archiveGz = zlib.gzipSync(Buffer.concat(chunks), { level: 1 });
  await minio.put('faults', 'archive.tar.gz', archiveGz);
});

afterAll(async () => {
  await proxy?.close();
  await minio?.stop();
  if (base) await fsp.rm(base, { recursive: true, force: true });
});

afterEach(() => proxy.clear());

describe('connection resets and 503s are retried with backoff', () => {
  it('a connection reset mid-object: retried, the file ends byte-identical', async () => {
    const rule = proxy.add({
      match: getOf('small/3.bin'),
      action: { type: 'reset', afterBytes: 100_000 },
      times: 2,
    });
    const target = await newTarget();
    const run = await runJob({
      request: request({ prefix: 'small/' }),
      target,
      credentials: credentials(),
    });
    expect(run.termination).toMatchObject({ phase: 'Succeeded', objects: 8 });
    expect(rule.hits).toBe(2);
    expect(
      run.lines.filter(
        l =>
          l.level === 'warn' && l.key === 'small/3.bin' && l.code === 'NETWORK',
      ),
    ).toHaveLength(2);
    await expectRestored(target, 'small/');
    expect(await temporaries(target)).toEqual([]);
  });

  it('a 503 SlowDown storm: every object still arrives', async () => {
    const rule = proxy.add({
      match: r => r.method === 'GET' && r.key !== undefined,
      action: { type: 'status', status: 503, code: 'SlowDown' },
      times: 12,
    });
    const target = await newTarget();
    const run = await runJob({
      request: request({ prefix: 'small/' }),
      target,
      credentials: credentials(),
    });
    expect(run.termination).toMatchObject({ phase: 'Succeeded', objects: 8 });
    expect(rule.hits).toBe(12);
    expect(
      run.lines.some(l => l.level === 'warn' && l.code === 'THROTTLED'),
    ).toBe(true);
    await expectRestored(target, 'small/');
  });

  it('503s that never stop: THROTTLED, retryable exit code', async () => {
    proxy.add({
      match: getOf('small/5.bin'),
      action: { type: 'status', status: 503, code: 'SlowDown' },
    });
    const target = await newTarget();
    const run = await runJob({
      request: request({ prefix: 'small/' }),
      target,
      credentials: credentials(),
      env: { KUBE_RESTORE_RETRY_ATTEMPTS: '3' },
    });
    expect(run.termination).toMatchObject({
      phase: 'Failed',
      code: 'THROTTLED',
      entry: 'small/5.bin',
      failedPhase: 'Restoring',
    });
    expect(run.code).toBe(EXIT_CODE_RETRYABLE);
    expect(await temporaries(target)).toEqual([]);
    expect((await readTree(target)).has('5.bin')).toBe(false);
  });

  it('a listing 500 once is retried', async () => {
    proxy.add({
      match: r => r.method === 'GET' && r.key === undefined,
      action: { type: 'status', status: 500, code: 'InternalError' },
      times: 1,
    });
    const target = await newTarget();
    const run = await runJob({
      request: request({ prefix: 'small/' }),
      target,
      credentials: credentials(),
    });
    expect(run.termination?.phase).toBe('Succeeded');
  });
});

describe('corrupted bytes', () => {
  it('a corrupted body once: the checksum catches it, the second fetch is good', async () => {
    const rule = proxy.add({
      match: getOf('small/1.bin'),
      action: { type: 'corrupt', atByte: 1234 },
      times: 1,
    });
    const target = await newTarget();
    const run = await runJob({
      request: request({ prefix: 'small/' }),
      target,
      credentials: credentials(),
    });
    expect(rule.hits).toBe(1);
    expect(run.termination).toMatchObject({ phase: 'Succeeded', objects: 8 });
    expect(
      run.lines.some(
        l =>
          l.level === 'warn' &&
          /checksum mismatch/.test(l.msg) &&
          l.key === 'small/1.bin',
      ),
    ).toBe(true);
    await expectRestored(target, 'small/');
  });

  it('corrupted every time: CHECKSUM_MISMATCH, and the bad bytes never get the final name', async () => {
    proxy.add({
      match: getOf('small/1.bin'),
      action: { type: 'corrupt', atByte: 10 },
    });
    const target = await newTarget();
    const run = await runJob({
      request: request({ prefix: 'small/' }),
      target,
      credentials: credentials(),
    });
    expect(run.termination).toMatchObject({
      phase: 'Failed',
      code: 'CHECKSUM_MISMATCH',
      entry: 'small/1.bin',
    });
    expect(run.code).toBe(EXIT_CODE_RETRYABLE);
    expect((await readTree(target)).has('1.bin')).toBe(false);
    expect(await temporaries(target)).toEqual([]);
  });

  it('an archive corrupted in transit is read again from its start', async () => {
    const rule = proxy.add({
      match: getOf('archive.tar.gz'),
      action: { type: 'corrupt', atByte: Math.floor(archiveGz.length / 2) },
      times: 1,
    });
    const target = await newTarget();
    const run = await runJob({
      request: request({ key: 'archive.tar.gz' }),
      target,
      credentials: credentials(),
    });
    expect(rule.hits).toBe(1);
    expect(
      run.lines.some(
        l => l.level === 'warn' && /reading it once more/.test(l.msg),
      ),
    ).toBe(true);
    expect(run.termination).toMatchObject({ phase: 'Succeeded', objects: 5 });
    const tree = await readTree(target);
    for (let i = 0; i < 5; i++)
      expect(md5(tree.get(`part${i}.bin`)!)).toBe(md5(body(i + 50, 400_000)));
    expect(await temporaries(target)).toEqual([]);
  });

  it('an archive whose connection resets mid-stream is read again from its start', async () => {
    proxy.add({
      match: getOf('archive.tar.gz'),
      action: { type: 'reset', afterBytes: Math.floor(archiveGz.length / 3) },
      times: 1,
    });
    const target = await newTarget();
    const run = await runJob({
      request: request({ key: 'archive.tar.gz' }),
      target,
      credentials: credentials(),
    });
    expect(run.termination).toMatchObject({ phase: 'Succeeded', objects: 5 });
    expect(await temporaries(target)).toEqual([]);
  });
});

describe('large objects as parallel ranged GETs', () => {
  const env = {
    KUBE_RESTORE_RANGE_THRESHOLD: String(6 * 1024 * 1024),
    KUBE_RESTORE_PART_SIZE: String(5 * 1024 * 1024),
  };

  it('fetches parts in parallel and writes them in place', async () => {
    const target = await newTarget();
    const run = await runJob({
      request: request({ prefix: 'large/' }),
      target,
      credentials: credentials(),
      env,
    });
    expect(run.termination).toMatchObject({ phase: 'Succeeded', objects: 1 });
    const ranged = proxy.log.filter(
      r => r.method === 'GET' && r.key === 'large/twelve.bin',
    );
    expect(ranged).toHaveLength(3);
    await expectRestored(target, 'large/');
  });

  it('a reset part is fetched again; a corrupted part fails the whole-object checksum once, then succeeds', async () => {
    proxy.add({
      match: getOf('large/twelve.bin'),
      action: { type: 'reset', afterBytes: 1_000_000 },
      times: 1,
    });
    proxy.add({
      match: getOf('large/twelve.bin'),
      action: { type: 'corrupt', atByte: 77 },
      times: 1,
    });
    const target = await newTarget();
    const run = await runJob({
      request: request({ prefix: 'large/' }),
      target,
      credentials: credentials(),
      env,
    });
    expect(run.termination).toMatchObject({ phase: 'Succeeded', objects: 1 });
    expect(
      run.lines.some(
        l => l.level === 'warn' && /checksum mismatch/.test(l.msg),
      ),
    ).toBe(true);
    await expectRestored(target, 'large/');
    expect(await temporaries(target)).toEqual([]);
  });

  it('one stream of a large object (MD5 on a worker thread): a corrupted byte is caught once, then it succeeds; corrupted every time, it never gets its final name', async () => {
    proxy.add({
      match: getOf('large/twelve.bin'),
      action: { type: 'corrupt', atByte: 9 * 1024 * 1024 },
      times: 1,
    });
    const target = await newTarget();
    const run = await runJob({
      request: request({ prefix: 'large/' }),
      target,
      credentials: credentials(),
    });
    expect(run.termination).toMatchObject({ phase: 'Succeeded', objects: 1 });
    expect(
      run.lines.some(
        l => l.level === 'warn' && /checksum mismatch/.test(l.msg),
      ),
    ).toBe(true);
    await expectRestored(target, 'large/');

    proxy.add({
      match: getOf('large/twelve.bin'),
      action: { type: 'corrupt', atByte: 5 },
    });
    const target2 = await newTarget();
    const failed = await runJob({
      request: request({ prefix: 'large/' }),
      target: target2,
      credentials: credentials(),
    });
    expect(failed.termination).toMatchObject({
      phase: 'Failed',
      code: 'CHECKSUM_MISMATCH',
    });
    expect(failed.termination?.message).toMatch(/MD5 is [0-9a-f]{32}/);
    expect((await readTree(target2)).has('twelve.bin')).toBe(false);
    expect(await temporaries(target2)).toEqual([]);
  });
});

describe('SIGTERM and resume', () => {
  it('stops mid-restore (CANCELLED, retryable), then a second run skips what was done and ends byte-identical', async () => {
    const target = await newTarget();
    const req = {
      ...request({ prefix: 'many/' }, { concurrency: 4 }),
      name: 'sigterm-resume',
    };
    const first = await runJob({
      request: { ...req, options: { ...req.options, bandwidth: '2Mi' } },
      target,
      credentials: credentials(),
      sigtermWhen: l =>
        l.type === 'progress' && l.phase === 'Restoring' && l.objectsDone >= 8,
    });
    expect(first.termination).toMatchObject({
      phase: 'Failed',
      code: 'CANCELLED',
      failedPhase: 'Restoring',
    });
    expect(first.code).toBe(EXIT_CODE_RETRYABLE);
    expect(
      first.lines.some(l => l.level === 'warn' && /SIGTERM/.test(l.msg)),
    ).toBe(true);
    expect(await temporaries(target)).toEqual([]);
    const done = first.termination!.objects;
    expect(done).toBeGreaterThanOrEqual(8);
    expect(done).toBeLessThan(40);
    // Every file with a final name is complete and correct.
    const partial = await readTree(target);
    for (const [k, v] of partial)
      expect(md5(v)).toBe(md5(objects.get(`many/${k}`)!));
    const manifest = await fsp.readFile(
      path.join(target, MANIFEST_FILE),
      'utf8',
    );
    expect(
      manifest.split('\n').filter(l => l.includes('"type":"object"')),
    ).toHaveLength(done);

    proxy.log.length = 0;
    const second = await runJob({
      request: req,
      target,
      credentials: credentials(),
    });
    expect(second.termination).toMatchObject({
      phase: 'Succeeded',
      objects: 40 - done,
      objectsSkipped: done,
    });
    expect(
      proxy.log.filter(r => r.method === 'GET' && r.key !== undefined),
    ).toHaveLength(40 - done);
    await expectRestored(target, 'many/');
  });
});

describe('a full volume', () => {
  it('ends in NO_SPACE (fatal) with no temporary file left', async () => {
    const target = await newTarget();
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', target]);
    } catch (error) {
      throw new Error(
        `cannot mount a tmpfs for the NO_SPACE test (needs root): ${(error as Error).message}`,
      );
    }
    try {
      const run = await runJob({
        request: request({ prefix: 'small/' }),
        target,
        credentials: credentials(),
      });
      expect(run.termination).toMatchObject({
        phase: 'Failed',
        code: 'NO_SPACE',
        failedPhase: 'Restoring',
      });
      expect(run.code).toBe(EXIT_CODE_FATAL);
      expect(await temporaries(target)).toEqual([]);
      for (const [k, v] of await readTree(target))
        expect(md5(v)).toBe(md5(objects.get(`small/${k}`)!));
    } finally {
      execFileSync('umount', [target]);
    }
  });
});
