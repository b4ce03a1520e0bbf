import { bestOfEachPeer, regionSummary, RegionPanel } from './region-report';
import { DatasetInfo, Row } from './report';

const row = (label: string, kind: Row['kind'], rate: number): Row => ({
  label,
  kind,
  runs: 2,
  failed: 0,
  wallS: 1,
  durableS: 1,
  wallRange: [1, 1],
  rate,
  rateWall: rate,
  mbps: rate,
  objps: rate,
  peakRssMiB: 50,
  cpuSPerGiB: 1,
});

const info: DatasetInfo = {
  id: '(b) 80 ms',
  title: '(b) 80 ms',
  bytes: 1,
  objects: 1,
  unit: 'obj/s',
};

describe('region report', () => {
  const rows = [
    row('kube-restore job', 'job', 300),
    row('s5cmd --numworkers 16', 'peer', 100),
    row('s5cmd --numworkers 256', 'peer', 600),
    row('rclone --transfers 64', 'peer', 200),
    row('mc', 'peer', 50),
  ];

  it('takes the best row of each peer’s sweep', () => {
    const b = bestOfEachPeer(rows);
    expect(b.get('s5cmd')?.label).toBe('s5cmd --numworkers 256');
    expect(b.get('rclone')?.rate).toBe(200);
    expect(b.get('mc')?.rate).toBe(50);
    expect(b.has('kube-restore')).toBe(false);
  });

  it('rates the job against the best peer setting of all', () => {
    const panels: RegionPanel[] = [{ setting: '80 ms', info, rows }];
    const md = regionSummary(panels, ['s5cmd', 'rclone', 'aws', 'mc']);
    const line = md.split('\n')[2];
    expect(line).toContain('| 80 ms | (b) 80 ms | obj/s | 300 |');
    expect(line).toContain('600 (--numworkers 256)');
    expect(line).toContain('| n/a |');
    expect(line).toContain('**0.50** (s5cmd --numworkers 256)');
  });
});
