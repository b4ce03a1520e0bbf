import { FirstByteTimes } from '../inFlight';
import {
  AnswerDeadline,
  ANSWER_MARGIN,
  FIRST_ANSWER_MS,
} from './answerDeadline';

describe('AnswerDeadline', () => {
  it('waits FIRST_ANSWER_MS before any time to first byte is known', () => {
    expect(new AnswerDeadline(60_000, new FirstByteTimes()).ms).toBe(
      FIRST_ANSWER_MS,
    );
  });

  it('waits ANSWER_MARGIN times the slowest recent first byte when that is longer', () => {
    const times = new FirstByteTimes();
    const d = new AnswerDeadline(60_000, times);
    times.record(5);
    times.record(2_000);
    times.record(40);
    expect(d.ms).toBe(ANSWER_MARGIN * 2_000);
    // the slowest ages out of the recent samples
    for (let i = 0; i < 32; i++) times.record(3);
    expect(d.ms).toBe(FIRST_ANSWER_MS);
  });

  it('doubles its floor after each missed answer, never past the idle timeout', () => {
    const d = new AnswerDeadline(60_000, new FirstByteTimes());
    d.missed();
    expect(d.ms).toBe(2 * FIRST_ANSWER_MS);
    d.missed();
    expect(d.ms).toBe(4 * FIRST_ANSWER_MS);
    d.missed();
    expect(d.ms).toBe(60_000);
    d.missed();
    expect(d.ms).toBe(60_000);
  });

  it('never waits longer than the idle timeout, however slow the server was', () => {
    const times = new FirstByteTimes();
    times.record(30_000);
    expect(new AnswerDeadline(45_000, times).ms).toBe(45_000);
    expect(new AnswerDeadline(5_000, new FirstByteTimes()).ms).toBe(5_000);
  });
});
