import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BandwidthLimiter } from './bandwidth';
import { classifyError, redact, RestoreError } from './errors';
import { loadManifest, ManifestWriter } from './manifest';
import { backoffDelay, withRetry } from './retry';
import { fnv1a32, shardFromEnv, shardOf } from './shard';

describe('sharding', () => {
  it('is a stable hash: the shards partition the keys exactly', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    const keys = Array.from({ length: 1000 }, (_, i) => `k/${i}`);
    const counts = [0, 0, 0];
    for (const k of keys) counts[shardOf(k, 3)]++;
    expect(counts.reduce((a, b) => a + b)).toBe(1000);
    expect(Math.min(...counts)).toBeGreaterThan(250);
  });

  it('reads the shard from JOB_COMPLETION_INDEX', () => {
    expect(shardFromEnv({}, 1)).toBeUndefined();
    expect(shardFromEnv({ JOB_COMPLETION_INDEX: '2' }, 3)).toEqual({
      index: 2,
      count: 3,
    });
    expect(() => shardFromEnv({}, 3)).toThrow(
      'JOB_COMPLETION_INDEX is not set',
    );
    expect(() => shardFromEnv({ JOB_COMPLETION_INDEX: '3' }, 3)).toThrow(
      'not below',
    );
  });
});

describe('classifyError', () => {
  it.each([
    [
      { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } },
      'ACCESS_DENIED',
    ],
    [{ name: 'NoSuchBucket' }, 'NO_SUCH_BUCKET'],
    [{ name: 'NoSuchKey' }, 'NO_SUCH_KEY'],
    [{ name: 'InvalidObjectState' }, 'ARCHIVED_OBJECT'],
    [{ name: 'SlowDown', $metadata: { httpStatusCode: 503 } }, 'THROTTLED'],
    [
      { name: 'InternalError', $metadata: { httpStatusCode: 500 } },
      'SERVER_ERROR',
    ],
    [
      Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
      'NETWORK',
    ],
    [Object.assign(new Error('no space'), { code: 'ENOSPC' }), 'NO_SPACE'],
    [{ name: 'SignatureDoesNotMatch' }, 'INVALID_CREDENTIALS'],
    [new Error('boom'), 'INTERNAL'],
  ])('%j -> %s', (error, code) => {
    expect(classifyError(error).code).toBe(code);
  });
});

describe('redact', () => {
  it('removes credential values and signatures', () => {
    const env = {
      AWS_SECRET_ACCESS_KEY: 'sekrit-value',
      AWS_ACCESS_KEY_ID: 'AKIDVALUE',
    };
    const out = redact(
      'x sekrit-value y AKIDVALUE Credential=AKID/2013 Signature=abcdef0123',
      env,
    );
    expect(out).not.toContain('sekrit-value');
    expect(out).not.toContain('AKIDVALUE');
    expect(out).not.toContain('abcdef0123');
  });
});

describe('withRetry', () => {
  const policy = { attempts: 3, baseMs: 1, maxMs: 2 };
  it('retries what a retry can fix, at most `attempts` times', async () => {
    let calls = 0;
    await expect(
      withRetry(async () => {
        calls++;
        throw Object.assign(new Error('reset'), { code: 'ECONNRESET' });
      }, policy),
    ).rejects.toMatchObject({ code: 'NETWORK' });
    expect(calls).toBe(3);
  });

  it('fails fast on permanent errors', async () => {
    let calls = 0;
    await expect(
      withRetry(async () => {
        calls++;
        throw new RestoreError('ACCESS_DENIED', 'no');
      }, policy),
    ).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    expect(calls).toBe(1);
  });

  it('backs off with full jitter under a ceiling', () => {
    const p = { attempts: 10, baseMs: 100, maxMs: 1000 };
    expect(backoffDelay(0, p, () => 0.999)).toBeLessThan(100);
    expect(backoffDelay(8, p, () => 0.999)).toBeLessThan(1000);
    expect(backoffDelay(3, p, () => 0)).toBe(0);
  });
});

describe('BandwidthLimiter', () => {
  /** A clock that only moves when the limiter sleeps: the limiter's arithmetic, not the machine's speed. */
  function virtualClock() {
    let now = 0;
    const sleeps: number[] = [];
    return {
      now: () => now,
      sleep: async (ms: number) => {
        sleeps.push(ms);
        now += ms;
      },
      sleeps,
    };
  }

  it('holds a stream to its rate after a burst of one second', async () => {
    const clock = virtualClock();
    const limiter = new BandwidthLimiter(1_000_000, clock.now, clock.sleep);
    const passedAt: number[] = [];
    for (let i = 0; i < 30; i++) {
      await limiter.take(100_000);
      passedAt.push(clock.now());
    }
    // 3 MB at 1 MB/s: the first 1 MB is the burst, then one 100 kB chunk every 100 ms.
    expect(passedAt.slice(0, 10)).toEqual(Array(10).fill(0));
    expect(passedAt.slice(10)).toEqual(
      Array.from({ length: 20 }, (_, i) => (i + 1) * 100),
    );
  });

  it('refills while idle, up to the burst only', async () => {
    const clock = virtualClock();
    const limiter = new BandwidthLimiter(1_000_000, clock.now, clock.sleep);
    await limiter.take(1_000_000);
    await clock.sleep(5000); // idle for 5 s: the bucket holds 1 MB, not 5 MB
    clock.sleeps.length = 0;
    await limiter.take(1_000_000);
    expect(clock.sleeps).toEqual([]);
    await limiter.take(500_000);
    expect(clock.sleeps).toEqual([500]);
  });

  it('passes a chunk larger than the burst once the bucket is full, and makes the next one wait for it', async () => {
    const clock = virtualClock();
    const limiter = new BandwidthLimiter(100_000, clock.now, clock.sleep);
    // burst is max(rate, 64 KiB) = 100 kB
    await limiter.take(300_000);
    expect(clock.sleeps).toEqual([]);
    await limiter.take(100_000);
    // the bucket went to -200 kB: 300 kB of refill at 100 kB/s
    expect(clock.now()).toBe(3000);
  });
});

describe('loadManifest', () => {
  it('ignores a torn last line and unverified entries', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'kr-manifest-'));
    const file = path.join(dir, 'm.jsonl');
    await fsp.writeFile(
      file,
      [
        '{"type":"header","v":1,"restore":"r","startedAt":"x"}',
        '{"type":"object","key":"a","path":"a","size":1,"etag":"e","checksum":"size","verified":true}',
        '{"type":"object","key":"b","path":"b","size":1,"etag":"e","checksum":"size","verified":false}',
        '{"type":"object","key":"c","pa',
      ].join('\n'),
    );
    const m = await loadManifest(file);
    expect(m.objects.size).toBe(1);
    expect(m.objects.get('a')).toEqual({
      key: 'a',
      path: 'a',
      size: 1,
      etag: 'e',
      version: undefined,
    });
    expect(m.objects.get('b')).toBeUndefined();
    m.close?.();
    expect((await loadManifest(path.join(dir, 'missing'))).objects.size).toBe(
      0,
    );
    await fsp.rm(dir, { recursive: true });
  });
});

describe('ManifestWriter', () => {
  it('reports a batch that failed in the background on the next flush', async () => {
    // Every write to /dev/full fails with ENOSPC.
    const writer = await ManifestWriter.open('/dev/full');
    for (let i = 0; i < 512; i++)
      writer.append({
        type: 'entry',
        entry: `e${i}`,
        path: `e${i}`,
        size: 0,
        kind: 'file',
      });
    // 512 lines started a write of their own; nothing is left pending for this flush.
    await expect(writer.flush()).rejects.toMatchObject({ code: 'ENOSPC' });
    await expect(writer.flush()).rejects.toMatchObject({ code: 'ENOSPC' });
  });

  it('writes the lines made in one turn of the event loop in one write, in order', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'kr-manifest-'));
    const file = path.join(dir, 'm.jsonl');
    const probe = await fsp.open(path.join(dir, 'probe'), 'w');
    const appendFile = jest.spyOn(Object.getPrototypeOf(probe), 'appendFile');
    await probe.close();
    try {
      const writer = await ManifestWriter.open(file);
      const line = (i: number) => ({
        type: 'entry' as const,
        entry: `e${i}`,
        path: `e${i}`,
        size: i,
        kind: 'file' as const,
      });
      // 20 batches' worth at once (a tar of tiny entries between two reads of its stream): one
      // write takes them all, rather than 20 batches held until each has its turn.
      for (let i = 0; i < 512 * 20; i++) writer.append(line(i));
      await writer.flush();
      expect(appendFile).toHaveBeenCalledTimes(1);
      for (let i = 512 * 20; i < 512 * 21 + 7; i++) writer.append(line(i));
      await writer.close();
      expect(appendFile).toHaveBeenCalledTimes(2);
      const lines = (await fsp.readFile(file, 'utf8')).trimEnd().split('\n');
      expect(lines).toEqual(
        Array.from({ length: 512 * 21 + 7 }, (_, i) => JSON.stringify(line(i))),
      );
    } finally {
      appendFile.mockRestore();
      await fsp.rm(dir, { recursive: true });
    }
  });
});
