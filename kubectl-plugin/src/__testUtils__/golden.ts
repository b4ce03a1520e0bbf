/**
 * Golden files for output people read, compared byte for byte. `UPDATE_GOLDEN=1` rewrites a file that
 * differs and fails the test until the diff is reviewed; under CI=true it is refused (the rule is
 * @kube-restore/common's expectedText, shared with core's manifests and the job's md5Wasm.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expectedText } from '@kube-restore/common';

// eslint-disable-next-line no-restricted-syntax
const DIR = path.join(__dirname, '..', '__golden__');

export function expectGolden(name: string, actual: string): void {
  const file = path.join(DIR, name);
  const expected = expectedText({
    file,
    actual,
    updateVar: 'UPDATE_GOLDEN',
    env: process.env,
    read: () =>
      fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined,
    write: text => {
      fs.mkdirSync(DIR, { recursive: true });
      fs.writeFileSync(file, text);
    },
  });
  expect(actual).toBe(expected);
}
