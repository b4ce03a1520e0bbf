/** The harness's freshness check for the images it imports (real files, set modification times). */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freshArchive } from './images';

describe('freshArchive', () => {
  let dir: string;
  const at = (file: string, seconds: number) => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    if (!fs.existsSync(file)) fs.writeFileSync(file, '');
    fs.utimesSync(file, seconds, seconds);
    return file;
  };
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kr-images-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('refuses a missing archive, saying how to build it', () => {
    expect(() =>
      freshArchive('populator image', path.join(dir, 'p.oci.tar'), [dir]),
    ).toThrow(
      /the populator image is not built: .*p\.oci\.tar is missing\. Run `npm run image`/,
    );
  });

  it('refuses an archive older than a source, naming it; tests and test utilities do not count', () => {
    const src = path.join(dir, 'src');
    at(path.join(src, 'main.ts'), 1000);
    at(path.join(src, 'main.test.ts'), 3000);
    at(path.join(src, '__testUtils__', 'cluster.ts'), 3000);
    const archive = at(path.join(dir, 'dist', 'p.oci.tar'), 2000);
    expect(freshArchive('populator image', archive, [src])).toBe(archive);
    at(path.join(src, 'deep', 'fits.ts'), 2500);
    expect(() => freshArchive('populator image', archive, [src])).toThrow(
      /the populator image is stale: .*deep\/fits\.ts changed after .*p\.oci\.tar was built\. Run `npm run image`\./,
    );
  });
});
