import { parseJobOutputLine } from '@kube-restore/common';
import { Reporter } from './reporter';

describe('Reporter', () => {
  it('says while the listing goes on, with no ETA from totals that still grow', () => {
    const lines: string[] = [];
    let now = 0;
    const r = new Reporter({ write: l => lines.push(l), now: () => now });
    r.setPhase('Restoring');
    const c = r.counters;
    c.listing = true;
    c.objectsTotal = 1000;
    c.bytesTotal = 10_000;
    now = 1000;
    r.addBytes(1000);
    r.emit();
    const during = parseJobOutputLine(lines.at(-1)!);
    expect(during).toMatchObject({
      type: 'progress',
      line: { listing: true, objectsTotal: 1000 },
    });
    expect(
      during.type === 'progress' ? during.line.etaSeconds : 'not progress',
    ).toBeUndefined();

    c.listing = undefined;
    now = 2000;
    r.addBytes(1000);
    r.emit();
    const after = parseJobOutputLine(lines.at(-1)!);
    expect(after.type === 'progress' && after.line.listing).toBe(undefined);
    expect(after.type === 'progress' && after.line.etaSeconds).toBe(8);
  });
});
