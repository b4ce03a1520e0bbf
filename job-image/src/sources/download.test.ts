import { Reporter } from '../reporter';
import { firstWrite } from './download';

describe('firstWrite', () => {
  it('is true for the first object written only, not for every one started before it is done', () => {
    const ctx = { reporter: new Reporter() };
    // the gate starts up to 256 downloads before the first is done
    const started = Array.from({ length: 256 }, () => firstWrite(ctx));
    expect(started.filter(Boolean)).toHaveLength(1);
    expect(started[0]).toBe(true);
    ctx.reporter.counters.objectsDone++;
    expect(firstWrite(ctx)).toBe(false);
    // another restore has its own first object
    expect(firstWrite({ reporter: new Reporter() })).toBe(true);
  });

  it('is false when the restore resumes with objects already done', () => {
    const reporter = new Reporter();
    reporter.counters.objectsDone = 5;
    expect(firstWrite({ reporter })).toBe(false);
  });
});
