import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { countMatching, scaleRelativeKey } from './scale-keys';

describe('the --scale dataset keys', () => {
  it('names objects as seed-scale.py writes them', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'scale-keys-'));
    try {
      execFileSync('python3', [
        path.join(__dirname, '..', 'scripts', 'seed-scale.py'),
        dir,
        '1003',
        '16',
      ]);
      const written = readdirSync(path.join(dir, 'm'))
        .flatMap(d => readdirSync(path.join(dir, 'm', d)).map(f => `${d}/${f}`))
        .sort();
      const expected = Array.from({ length: 1003 }, (_, i) =>
        scaleRelativeKey(i),
      ).sort();
      expect(written).toEqual(expected);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('counts the objects an include glob keeps', () => {
    expect(countMatching(100_000, '*/f????000')).toBe(100);
    expect(countMatching(2500, 'd0002/*')).toBe(500);
    expect(countMatching(10, 'nothing*')).toBe(0);
  });
});
