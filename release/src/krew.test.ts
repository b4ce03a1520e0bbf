import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  archiveName,
  manifestArchives,
  renderManifest,
  sha256File,
  writeArchive,
} from './krew';
import { SEA_PLATFORMS } from './sea';
import { REPO_ROOT, sourceVersion } from './versions';

describe('krew', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kr-krew-test-'));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('archives are reproducible: the same inputs give the same sha256', () => {
    const exe = path.join(tmp, 'exe');
    fs.writeFileSync(exe, '#!/bin/sh\necho hi\n');
    const files = [
      { name: 'kubectl-restore', from: exe, mode: 0o755 },
      { name: 'LICENSE', from: path.join(REPO_ROOT, 'LICENSE'), mode: 0o644 },
    ];
    writeArchive(path.join(tmp, 'a.tar.gz'), files, 1700000000);
    fs.utimesSync(exe, new Date(), new Date()); // a newer mtime on disk changes nothing
    writeArchive(path.join(tmp, 'b.tar.gz'), [...files].reverse(), 1700000000);
    writeArchive(path.join(tmp, 'c.tar.gz'), files, 1700000001);
    expect(sha256File(path.join(tmp, 'a.tar.gz'))).toBe(
      sha256File(path.join(tmp, 'b.tar.gz')),
    );
    expect(sha256File(path.join(tmp, 'a.tar.gz'))).not.toBe(
      sha256File(path.join(tmp, 'c.tar.gz')),
    );
    const listing = execFileSync('tar', ['-tvzf', path.join(tmp, 'a.tar.gz')], {
      encoding: 'utf8',
    });
    expect(listing).toMatch(/^-rw-r--r-- 0\/0 .* LICENSE$/m);
    expect(listing).toMatch(/^-rwxr-xr-x 0\/0 .* kubectl-restore$/m);
  });

  it('the manifest names one archive per platform, with its sha256', () => {
    const text = renderManifest(
      '1.2.3',
      SEA_PLATFORMS.map((platform, i) => ({
        platform,
        sha256: String(i).repeat(64),
      })),
    );
    expect(manifestArchives(text)).toEqual(
      SEA_PLATFORMS.map((platform, i) => ({
        uri: `https://github.com/kube-restore/kube-restore/releases/download/v1.2.3/${archiveName('1.2.3', platform)}`,
        sha256: String(i).repeat(64),
      })),
    );
  });

  it('deploy/krew/restore.yaml is what npm run release writes, with real checksums', () => {
    const committed = fs.readFileSync(
      path.join(REPO_ROOT, 'deploy/krew/restore.yaml'),
      'utf8',
    );
    const archives = manifestArchives(committed);
    expect(archives).toHaveLength(SEA_PLATFORMS.length);
    for (const a of archives) {
      expect(a.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(a.sha256).not.toBe('0'.repeat(64));
    }
    // Byte for byte the renderer's output: not edited by hand. (test:release recomputes the sha256s.)
    expect(
      renderManifest(
        sourceVersion(),
        SEA_PLATFORMS.map((platform, i) => ({
          platform,
          sha256: archives[i].sha256,
        })),
      ),
    ).toBe(committed);
  });
});
