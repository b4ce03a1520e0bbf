import { parseTimeLine } from './measure';
import {
  liveHeapAfterGcMB,
  profileThreadId,
  selfTimes,
  summarizeProfile,
} from './profile';
import {
  baselineLabel,
  compare,
  DatasetInfo,
  heapGrowth,
  markdownTable,
  ratioLine,
  RunRecord,
  summarizeRows,
  svgChart,
  targetLines,
} from './report';
import { displayCommand, jobRequest } from './tools';

const info: DatasetInfo = {
  id: '(a)',
  title: '(a) test',
  bytes: 2 * 2 ** 30,
  objects: 8,
  unit: 'MB/s',
  limits: ['read'],
};

function rec(
  label: string,
  kind: RunRecord['kind'],
  durableS: number,
  extra: Partial<RunRecord> = {},
): RunRecord {
  return {
    dataset: '(a)',
    label,
    kind,
    rep: 1,
    wallS: durableS,
    durableS,
    userS: 1,
    sysS: 1,
    maxRssKiB: 100 * 1024,
    ok: true,
    ...extra,
  };
}

describe('report', () => {
  const records = [
    rec('job', 'job', 4),
    rec('job', 'job', 2),
    rec('job', 'job', 3),
    rec('mc', 'peer', 4),
    rec('mc', 'peer', 4, { ok: false, error: 'boom' }),
    rec('s5cmd', 'peer', 6),
    rec('read', 'limit', 1),
    rec('other', 'peer', 1, { dataset: '(b)' }),
  ];

  it('summarizes medians, peak RSS and CPU per GiB, excluding failed runs', () => {
    const rows = summarizeRows(info, records);
    expect(rows.map(r => r.label)).toEqual(['job', 'mc', 's5cmd', 'read']);
    const job = rows[0];
    expect(job.durableS).toBe(3);
    expect(job.mbps).toBeCloseTo((2 * 2 ** 30) / 1e6 / 3);
    expect(job.cpuSPerGiB).toBe(1);
    expect(job.peakRssMiB).toBe(100);
    expect(rows[1]).toMatchObject({ runs: 1, failed: 1 });
  });

  it('compares the job with the best peer and the limits', () => {
    const rows = summarizeRows(info, records);
    const c = compare(info, rows);
    expect(c.bestPeer?.label).toBe('mc');
    expect(c.toBestPeer).toBeCloseTo(4 / 3);
    expect(c.toLimits[0].ratio).toBeCloseTo(1 / 3);
    expect(ratioLine(info, c)).toBe('(a): ratio to best peer: 1.33 (mc)');
    const table = markdownTable(info, rows);
    expect(table.split('\n')).toHaveLength(2 + rows.length);
    expect(table).toContain('| **job** |');
    expect(table).toContain('1 (+1 failed)');
  });

  it('keeps a pipeline label in its cell', () => {
    const rows = summarizeRows(info, [rec('curl | tar xz', 'peer', 2)]);
    const row = markdownTable(info, rows).split('\n')[2];
    expect(row.startsWith('| curl \\| tar xz |')).toBe(true);
    expect(row.replace(/\\\|/g, '').split('|')).toHaveLength(11);
  });

  it('says which targets are met, and by how much the others are missed', () => {
    const withReference: DatasetInfo = { ...info, reference: 'curl | tar' };
    const slow = [
      rec('job', 'job', 5, { maxRssKiB: 250 * 1024 }),
      rec('mc', 'peer', 4),
      rec('curl | tar', 'limit', 4.5),
    ];
    const missed = targetLines(
      withReference,
      compare(withReference, summarizeRows(withReference, slow)),
    );
    expect(missed).toEqual([
      '- (a) throughput vs best peer (mc): 0.80, target >= 1.00: missed by 20%',
      '- (a) throughput vs `curl | tar`: 0.90, target >= 0.90: met',
      '- (a) job peak RSS: 250 MiB, target < 200 MiB: missed by 25%',
    ]);
    const fast = targetLines(
      info,
      compare(
        info,
        summarizeRows(info, [rec('job', 'job', 3), rec('mc', 'peer', 4)]),
      ),
    );
    expect(fast).toEqual([
      '- (a) throughput vs best peer (mc): 1.33, target >= 1.00: met',
      '- (a) job peak RSS: 100 MiB, target < 200 MiB: met',
    ]);
  });

  it('says n/a when there is no peer', () => {
    const rows = summarizeRows(info, [rec('job', 'job', 1)]);
    expect(ratioLine(info, compare(info, rows))).toBe(
      '(a): ratio to best peer: n/a (no peer)',
    );
  });

  it('draws one bar per tool, scaled to the fastest, escaping labels', () => {
    const rows = summarizeRows(info, [...records, rec('a<b', 'peer', 8)]);
    const svg = svgChart([{ info, rows }], 'T & U');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('T &amp; U');
    expect(svg).toContain('a&lt;b');
    const widths = [
      ...svg.matchAll(/<rect x="\d+" y="\d+" width="([\d.]+)"/g),
    ].map(m => Number(m[1]));
    expect(widths).toHaveLength(5);
    // the read limit (1 s) is the fastest: the widest bar; 8 s is an eighth of it
    expect(Math.max(...widths)).toBe(widths[3]);
    expect(widths[4]).toBeCloseTo(widths[3] / 8, 0);
  });
});

describe('helpers', () => {
  it("parses GNU time output, with the command's stderr before it", () => {
    expect(parseTimeLine('noise\n1.50 0.70 0.20 123456 0\n')).toEqual({
      wallS: 1.5,
      userS: 0.7,
      sysS: 0.2,
      maxRssKiB: 123456,
      exitCode: 0,
    });
    expect(() => parseTimeLine('Command terminated by signal 9')).toThrow(
      'cannot parse',
    );
  });

  it('displays command lines shell-quoted and shortened', () => {
    expect(
      displayCommand(
        ['/a/b/s5cmd', 'cp', 's3://x/a/*', 'two words'],
        [['/a/b/s5cmd', 's5cmd']],
      ),
    ).toBe("s5cmd cp s3://x/a/* 'two words'");
  });

  it('builds the job request as a pod gets it', () => {
    expect(
      jobRequest({
        endpoint: 'http://h',
        bucket: 'b',
        prefix: 'a/',
        concurrency: 8,
      }),
    ).toEqual({
      name: 'bench',
      source: {
        endpoint: 'http://h',
        bucket: 'b',
        prefix: 'a/',
        pathStyle: true,
      },
      target: { namespace: 'bench', pvc: 'bench' },
      options: { concurrency: 8 },
    });
  });

  it('sums self time per function from a CPU profile', () => {
    const profile = {
      startTime: 0,
      endTime: 10,
      nodes: [
        {
          id: 1,
          callFrame: { functionName: '(root)', url: '', lineNumber: -1 },
        },
        {
          id: 2,
          callFrame: {
            functionName: 'hot',
            url: 'file:///x/a.js',
            lineNumber: 9,
          },
        },
        {
          id: 3,
          callFrame: { functionName: '', url: 'file:///x/b.js', lineNumber: 0 },
        },
      ],
      samples: [2, 2, 3, 2],
      timeDeltas: [1000, 1000, 2000, 1000],
    };
    const t = selfTimes(profile);
    expect(t[0]).toEqual({ name: 'hot a.js:10', selfMs: 3, share: 0.6 });
    expect(t[1]).toEqual({ name: '(anonymous) b.js:1', selfMs: 2, share: 0.4 });
    expect(summarizeProfile(profile, 1).split('\n')).toHaveLength(4);

    // the threads of one process: the same function's samples add up, shares over all of them
    const worker = {
      startTime: 0,
      endTime: 10,
      nodes: [
        {
          id: 7,
          callFrame: {
            functionName: 'hot',
            url: 'file:///y/a.js',
            lineNumber: 9,
          },
        },
        {
          id: 8,
          callFrame: { functionName: 'md5x4', url: '', lineNumber: -1 },
        },
      ],
      samples: [7, 8],
      timeDeltas: [2000, 3000],
    };
    const both = selfTimes([profile, worker]);
    expect(both[0]).toEqual({ name: 'hot a.js:10', selfMs: 5, share: 0.5 });
    expect(both[1]).toEqual({ name: 'md5x4', selfMs: 3, share: 0.3 });
    expect(both[2]).toEqual({
      name: '(anonymous) b.js:1',
      selfMs: 2,
      share: 0.2,
    });
  });

  it('tells which thread wrote a --cpu-prof file', () => {
    expect(profileThreadId('CPU.20261204.133216.8827.0.001.cpuprofile')).toBe(
      0,
    );
    expect(profileThreadId('CPU.20261204.133216.8827.12.002.cpuprofile')).toBe(
      12,
    );
    expect(
      profileThreadId('CPU.20261204.133216.8827.1.002.heapprofile'),
    ).toBeUndefined();
    expect(profileThreadId('notes.cpuprofile')).toBeUndefined();
  });
});

describe('liveHeapAfterGcMB', () => {
  it('takes the largest heap after a full collection, not after scavenges', () => {
    const trace = [
      '[3035:0x37479ee0]       27 ms: Scavenge 3.8 (4.0) -> 3.4 (5.0) MB, 1.71 / 0.00 ms  (average mu = 1.000, current mu = 1.000) allocation failure; ',
      '[3043:0x1bcb2d00]     4100 ms: Mark-Compact 63.1 (70.0) -> 21.6 (68.0) MB, 5.58 / 0.00 ms  (average mu = 0.99) allocation failure; GC in old space requested',
      '{"objects":3}',
      '[3035:0x37479ee0]     5000 ms: Scavenge 90.8 (94.0) -> 88.4 (95.0) MB, 1.71 / 0.00 ms',
      '[3043:0x1bcb2d00]     9100 ms: Mark-Compact (reduce) 40.2 (70.0) -> 24.25 (50.0) MB, 5.58 / 0.00 ms',
      '[3043:0x1bcb2d00]     9900 ms: Mark-Compact 30.0 (50.0) -> 19.0 (50.0) MB, 5.58 / 0.00 ms',
    ].join('\n');
    expect(liveHeapAfterGcMB(trace)).toBe(24.25);
  });

  it('is undefined when no full collection ran', () => {
    expect(
      liveHeapAfterGcMB(
        '[1:0x1] 27 ms: Scavenge 3.8 (4.0) -> 3.4 (5.0) MB, 1.7 / 0.0 ms',
      ),
    ).toBeUndefined();
    expect(liveHeapAfterGcMB('')).toBeUndefined();
  });
});

describe('heapGrowth', () => {
  it('names both heaps, their ratio and the key counts', () => {
    expect(
      heapGrowth(
        'core sizeSource',
        { keys: 62657, liveMiB: 18.7 },
        { keys: 1000000, liveMiB: 19.7 },
      ),
    ).toBe(
      'core sizeSource 18.7 -> 19.7 MiB (x1.05) from 62657 to 1000000 keys',
    );
    expect(
      heapGrowth(
        'job listing',
        { keys: 10, liveMiB: undefined },
        { keys: 20, liveMiB: 3 },
      ),
    ).toBe('job listing n/a -> 3.0 MiB (xn/a) from 10 to 20 keys');
  });
});

describe('baselineLabel', () => {
  it('names a --job-baseline row after the directory job-at.sh built it in', () => {
    expect(
      baselineLabel('/tmp/kube-restore-job-e6db6af-w/restore-job.cjs'),
    ).toBe('job at e6db6af-w');
    expect(baselineLabel('/x/dist/restore-job.cjs')).toBe('job at dist');
  });
});
