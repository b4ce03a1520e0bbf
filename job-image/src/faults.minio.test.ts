/**
 * Faults, through a fault-injecting proxy in front of a real MinIO: connections reset mid-object,
 * 503 storms, corrupted bytes; SIGTERM mid-restore and a resumed run; a full volume (tmpfs).
 */
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import {
  EXIT_CODE_FATAL,
  EXIT_CODE_RETRYABLE,
  MANIFEST_FILE,
} from '@kube-restore/common';
import { getOf, headOf, ProxiedRequest } from './__testUtils__/faultProxy';
import { body, md5, pack, useHarness } from './__testUtils__/harness';
import { readTree, RunJobOptions, temporaries } from './__testUtils__/job';

jest.setTimeout(120_000);

const objects = new Map<string, Buffer>();
let archiveGz: Buffer;

const h = useHarness({
  kind: 'minio',
  bucket: 'faults',
  name: 'f',
  viaProxy: true,
  async seed({ server }) {
    const put = async (key: string, b: Buffer) => {
      await server.put('faults', key, b);
      objects.set(key, b);
    };
    // Verified by the MD5 of their ETags (on hash workers): no checksum besides.
    const putMd5Only = async (key: string, b: Buffer) => {
      await server.putWithoutChecksum('faults', key, b);
      objects.set(key, b);
    };
    for (let i = 0; i < 8; i++) await put(`small/${i}.bin`, body(i, 200_000));
    await putMd5Only('large/twelve.bin', body(99, 12 * 1024 * 1024 + 333));
    for (let i = 0; i < 3; i++)
      await putMd5Only(
        `lanes/${i}.bin`,
        body(200 + i, 9 * 1024 * 1024 + 64 * i + 7),
      );
    for (let i = 0; i < 40; i++)
      await put(
        `many/${String(i).padStart(2, '0')}.bin`,
        body(i + 10, 256 * 1024),
      );
    const parts = Array.from({ length: 5 }, (_, i) => ({
      name: `part${i}.bin`,
      body: body(i + 50, 400_000),
    }));
    archiveGz = zlib.gzipSync(await pack(parts), { level: 1 });
    await server.put('faults', 'archive.tar.gz', archiveGz);
  },
});

/** Runs the job on `source` (through the proxy) into `target`, a fresh one unless given. */
async function restore(
  source: Record<string, unknown>,
  more: Partial<RunJobOptions> = {},
) {
  const target = more.target ?? (await h.newTarget());
  const run = await h.run({ request: h.request(source), ...more, target });
  return { run, target };
}

async function expectRestored(target: string, prefix: string) {
  const tree = await readTree(target);
  const expected = [...objects].filter(([k]) => k.startsWith(prefix));
  expect([...tree.keys()].sort()).toEqual(
    expected.map(([k]) => k.slice(prefix.length)).sort(),
  );
  for (const [k, v] of expected)
    expect(md5(tree.get(k.slice(prefix.length))!)).toBe(md5(v));
}

describe('connection resets and 503s are retried with backoff', () => {
  it('a connection reset mid-object: retried, the file ends byte-identical', async () => {
    const rule = h.proxy.add({
      match: getOf('small/3.bin'),
      action: { type: 'reset', afterBytes: 100_000 },
      times: 2,
    });
    const { run, target } = await restore({ prefix: 'small/' });
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
    const rule = h.proxy.add({
      match: r => r.method === 'GET' && r.key !== undefined,
      action: { type: 'status', status: 503, code: 'SlowDown' },
      times: 12,
    });
    const { run, target } = await restore({ prefix: 'small/' });
    expect(run.termination).toMatchObject({ phase: 'Succeeded', objects: 8 });
    expect(rule.hits).toBe(12);
    expect(
      run.lines.some(l => l.level === 'warn' && l.code === 'THROTTLED'),
    ).toBe(true);
    await expectRestored(target, 'small/');
  });

  it('503s that never stop: THROTTLED once the throttle budget is spent, retryable exit code', async () => {
    h.proxy.add({
      match: getOf('small/5.bin'),
      action: { type: 'status', status: 503, code: 'SlowDown' },
    });
    const { run, target } = await restore(
      { prefix: 'small/' },
      // throttled requests are retried beyond the attempts, for as long as the budget lasts
      {
        options: { retry: { attempts: 3, throttleBudgetSeconds: 2 } },
      },
    );
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

  // The idle timeout is 60 s, longer than either test may take: without the answer wait (10 s)
  // each would time out.
  it.each([
    [
      'a listing page',
      (r: ProxiedRequest) => r.method === 'GET' && r.key === undefined,
    ],
    ['an object GET', getOf('small/2.bin')],
  ])(
    '%s that gets no answer is sent again after the answer wait, not the idle timeout',
    async (_what, match) => {
      // lost on the way: the fault proxy never answers it
      const rule = h.proxy.add({
        match,
        action: { type: 'silence' },
        times: 1,
      });
      const started = Date.now();
      const { run, target } = await restore({ prefix: 'small/' });
      expect(run.termination).toMatchObject({ phase: 'Succeeded', objects: 8 });
      expect(rule.hits).toBe(1);
      expect(
        run.lines.filter(
          l =>
            l.level === 'warn' &&
            l.code === 'NETWORK' &&
            /no answer from the S3 endpoint within 10 s/.test(String(l.error)),
        ),
      ).toHaveLength(1);
      expect(Date.now() - started).toBeLessThan(45_000);
      await expectRestored(target, 'small/');
    },
    50_000,
  );

  it('a listing 500 once is retried', async () => {
    h.proxy.add({
      match: r => r.method === 'GET' && r.key === undefined,
      action: { type: 'status', status: 500, code: 'InternalError' },
      times: 1,
    });
    const { run } = await restore({ prefix: 'small/' });
    expect(run.termination?.phase).toBe('Succeeded');
  });
});

describe('corrupted bytes', () => {
  it('a corrupted body once: the checksum catches it, the second fetch is good', async () => {
    const rule = h.proxy.add({
      match: getOf('small/1.bin'),
      action: { type: 'corrupt', atByte: 1234 },
      times: 1,
    });
    const { run, target } = await restore({ prefix: 'small/' });
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
    h.proxy.add({
      match: getOf('small/1.bin'),
      action: { type: 'corrupt', atByte: 10 },
    });
    const { run, target } = await restore({ prefix: 'small/' });
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
    const rule = h.proxy.add({
      match: getOf('archive.tar.gz'),
      action: { type: 'corrupt', atByte: Math.floor(archiveGz.length / 2) },
      times: 1,
    });
    const { run, target } = await restore({ key: 'archive.tar.gz' });
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
    h.proxy.add({
      match: getOf('archive.tar.gz'),
      action: { type: 'reset', afterBytes: Math.floor(archiveGz.length / 3) },
      times: 1,
    });
    const { run, target } = await restore({ key: 'archive.tar.gz' });
    expect(run.termination).toMatchObject({ phase: 'Succeeded', objects: 5 });
    expect(await temporaries(target)).toEqual([]);
  });
});

describe('large objects as parallel ranged GETs', () => {
  const options = { parts: { minObjectSize: '6Mi', size: '5Mi' } };

  it('fetches parts in parallel and writes them in place', async () => {
    const { run, target } = await restore({ prefix: 'large/' }, { options });
    expect(run.termination).toMatchObject({ phase: 'Succeeded', objects: 1 });
    const ranged = h.proxy.log.filter(
      r => r.method === 'GET' && r.key === 'large/twelve.bin',
    );
    expect(ranged).toHaveLength(3);
    await expectRestored(target, 'large/');
  });

  it('the parts start beside the HEAD, not after its answer', async () => {
    const headRule = h.proxy.add({
      match: headOf('large/twelve.bin'),
      action: { type: 'delay', ms: 1500 },
      times: 1,
    });
    const { run, target } = await restore({ prefix: 'large/' }, { options });
    expect(run.termination).toMatchObject({ phase: 'Succeeded', objects: 1 });
    expect(headRule.hits).toBe(1);
    const ofKey = h.proxy.log.filter(r => r.key === 'large/twelve.bin');
    const head = ofKey.find(r => r.method === 'HEAD')!;
    const gets = ofKey.filter(r => r.method === 'GET');
    expect(gets).toHaveLength(3);
    // every part asked for while the HEAD was held
    for (const get of gets) expect(get.at).toBeLessThan(head.at + 1500);
    await expectRestored(target, 'large/');
  });

  it('from a far, slow server each next part is asked for before the one before it has ended', async () => {
    // one part at a time, each answered 400 ms after it is asked for, its body at 4 MiB/s
    const rule = h.proxy.add({
      match: getOf('large/twelve.bin'),
      action: { type: 'delay', ms: 400, bytesPerSecond: 4 * 1024 * 1024 },
    });
    const { run, target } = await restore(
      { prefix: 'large/' },
      { options: { parts: { ...options.parts, concurrency: 1 } } },
    );
    expect(run.termination).toMatchObject({ phase: 'Succeeded', objects: 1 });
    expect(rule.hits).toBe(3);
    const gets = h.proxy.log
      .filter(r => r.method === 'GET' && r.key === 'large/twelve.bin')
      .sort((a, b) => a.at - b.at);
    expect(gets).toHaveLength(3);
    // without the overlap a part is asked for only after the last byte of the one before
    for (let i = 1; i < gets.length; i++)
      expect(gets[i].at).toBeLessThan(gets[i - 1].endedAt!);
    await expectRestored(target, 'large/');
  });

  it('an object replaced since the listing: its parts stop at the HEAD, and the new one is fetched whole', async () => {
    // listed as the object it replaced: a smaller size and another ETag
    h.proxy.rewriteListing = xml =>
      xml
        .replace(/<Size>12583245<\/Size>/, '<Size>7340032</Size>')
        .replace(
          /<ETag>[^<]*<\/ETag>/,
          '<ETag>&quot;00000000000000000000000000000000&quot;</ETag>',
        );
    // the parts are refused before the HEAD tells: they wait for it
    h.proxy.add({
      match: headOf('large/twelve.bin'),
      action: { type: 'delay', ms: 500 },
      times: 1,
    });
    const { run, target } = await restore({ prefix: 'large/' }, { options });
    expect(run.termination).toMatchObject({ phase: 'Succeeded', objects: 1 });
    expect(
      run.lines.filter(
        l =>
          l.type === 'log' &&
          l.msg === 'the object changed since it was listed',
      ),
    ).toEqual([expect.objectContaining({ key: 'large/twelve.bin' })]);
    const gets = h.proxy.log.filter(
      r => r.method === 'GET' && r.key === 'large/twelve.bin',
    );
    // parts pinned to the listed ETag are refused; those after the second HEAD are not
    expect(gets.filter(r => r.status === 412).length).toBeGreaterThan(0);
    expect(gets.filter(r => r.status === 206)).toHaveLength(3);
    expect(h.proxy.log.filter(r => r.method === 'HEAD')).toHaveLength(2);
    await expectRestored(target, 'large/');
    expect(await temporaries(target)).toEqual([]);
  });

  it('a reset part is fetched again; a corrupted part fails the whole-object checksum once, then succeeds', async () => {
    h.proxy.add({
      match: getOf('large/twelve.bin'),
      action: { type: 'reset', afterBytes: 1_000_000 },
      times: 1,
    });
    h.proxy.add({
      match: getOf('large/twelve.bin'),
      action: { type: 'corrupt', atByte: 77 },
      times: 1,
    });
    const { run, target } = await restore({ prefix: 'large/' }, { options });
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
    h.proxy.add({
      match: getOf('large/twelve.bin'),
      action: { type: 'corrupt', atByte: 9 * 1024 * 1024 },
      times: 1,
    });
    const { run, target } = await restore({ prefix: 'large/' });
    expect(run.termination).toMatchObject({ phase: 'Succeeded', objects: 1 });
    expect(
      run.lines.some(
        l => l.level === 'warn' && /checksum mismatch/.test(l.msg),
      ),
    ).toBe(true);
    await expectRestored(target, 'large/');

    h.proxy.add({
      match: getOf('large/twelve.bin'),
      action: { type: 'corrupt', atByte: 5 },
    });
    const { run: failed, target: target2 } = await restore({
      prefix: 'large/',
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

describe('large objects side by side (MD5s in shared SIMD lanes)', () => {
  it('a corrupted byte in each is caught once, then all succeed; corrupted every time, none gets its final name', async () => {
    for (let i = 0; i < 3; i++)
      h.proxy.add({
        match: getOf(`lanes/${i}.bin`),
        action: { type: 'corrupt', atByte: 3 * 1024 * 1024 + 1000 * i },
        times: 1,
      });
    const { run, target } = await restore({ prefix: 'lanes/' });
    expect(run.termination).toMatchObject({ phase: 'Succeeded', objects: 3 });
    const mismatches = run.lines.filter(
      l => l.level === 'warn' && /checksum mismatch/.test(l.msg),
    );
    expect(mismatches).toHaveLength(3);
    await expectRestored(target, 'lanes/');
    expect(await temporaries(target)).toEqual([]);

    h.proxy.add({
      match: getOf('lanes/1.bin'),
      action: { type: 'corrupt', atByte: 9 * 1024 * 1024 + 60 },
    });
    const { run: failed, target: target2 } = await restore({
      prefix: 'lanes/',
    });
    expect(failed.termination).toMatchObject({
      phase: 'Failed',
      code: 'CHECKSUM_MISMATCH',
    });
    expect(failed.termination?.message).toMatch(
      /lanes\/1\.bin.*MD5 is [0-9a-f]{32}/,
    );
    expect((await readTree(target2)).has('1.bin')).toBe(false);
    expect(await temporaries(target2)).toEqual([]);
  });
});

describe('SIGTERM and resume', () => {
  it('stops mid-restore (CANCELLED, retryable), then a second run skips what was done and ends byte-identical', async () => {
    const target = await h.newTarget();
    const req = {
      ...h.request({ prefix: 'many/' }, { options: { concurrency: 4 } }),
      name: 'sigterm-resume',
    };
    // Only many/00-11 can finish before the SIGTERM: the proxy holds the GETs of the others
    // open, sending nothing. The count below then depends on no timing.
    const CAN_FINISH = 12;
    h.proxy.add({
      match: r =>
        r.method === 'GET' &&
        /^many\/\d\d\.bin$/.test(r.key ?? '') &&
        Number(r.key!.slice(5, 7)) >= CAN_FINISH,
      action: { type: 'stall', afterBytes: 0, ms: 0 },
    });
    const first = await h.run({
      request: { ...req, options: { ...req.options, bandwidth: '2Mi' } },
      target,
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
    expect(done).toBeLessThanOrEqual(CAN_FINISH);
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

    h.proxy.clear(); // the stalls and the log
    const second = await h.run({ request: req, target });
    expect(second.termination).toMatchObject({
      phase: 'Succeeded',
      objects: 40 - done,
      objectsSkipped: done,
    });
    expect(
      h.proxy.log.filter(r => r.method === 'GET' && r.key !== undefined),
    ).toHaveLength(40 - done);
    await expectRestored(target, 'many/');
  });
});

describe('a full volume', () => {
  it('ends in NO_SPACE (fatal) with no temporary file left', async () => {
    const target = await h.newTarget();
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', target]);
    } catch (error) {
      throw new Error(
        `cannot mount a tmpfs for the NO_SPACE test (needs root): ${(error as Error).message}`,
      );
    }
    try {
      const { run } = await restore({ prefix: 'small/' }, { target });
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
