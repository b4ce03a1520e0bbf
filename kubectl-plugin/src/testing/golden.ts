/** Golden files for output people read: compared byte for byte; `UPDATE_GOLDEN=1` rewrites them (review the diff). */
import * as fs from 'node:fs';
import * as path from 'node:path';

// eslint-disable-next-line no-restricted-syntax
const DIR = path.join(__dirname, '..', '__golden__');

export function expectGolden(name: string, actual: string): void {
  const file = path.join(DIR, name);
  if (process.env.UPDATE_GOLDEN === '1') {
    fs.mkdirSync(DIR, { recursive: true });
    fs.writeFileSync(file, actual);
    return;
  }
  if (!fs.existsSync(file))
    throw new Error(
      `golden file ${file} is missing: run with UPDATE_GOLDEN=1 and review it`,
    );
  expect(actual).toBe(fs.readFileSync(file, 'utf8'));
}
