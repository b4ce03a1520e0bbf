import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import {
  REPO_ROOT,
  disagreements,
  jobImage,
  sourceVersion,
  versionPlaces,
} from './versions';

describe('one version', () => {
  it('every copy in the repository says the root package.json version', () => {
    const version = sourceVersion();
    const wrong = disagreements(version).map(
      c => `${c.file}: ${c.what} is ${JSON.stringify(c.value)}`,
    );
    expect(wrong).toEqual([]);
  });

  it('finds the copies the release depends on', () => {
    const places = versionPlaces().map(c => `${c.file} ${c.what}`);
    for (const expected of [
      'packages/restore-core/package.json version',
      'plugins/backstage-frontend/package.json dependencies["@kube-restore/common"]',
      'packages/restore-core/src/version.ts KUBE_RESTORE_VERSION (DEFAULT_JOB_IMAGE tag)',
      'kubectl-plugin/src/commands/version.ts PLUGIN_VERSION',
      'job-image/Dockerfile example image tag',
      'deploy/krew/restore.yaml spec.version',
      'deploy/krew/restore.yaml archive uri',
      'plugins/backstage-backend/src/schema/openapi.yaml info.version',
    ])
      expect(places).toContain(expected);
  });

  it('the operator guardrail admits the default job image', () => {
    const policy = fs.readFileSync(
      path.join(REPO_ROOT, 'deploy/policy/operator-guardrails.yaml'),
      'utf8',
    );
    const m = policy.match(/- name: image\n\s+expression: "'(.+)'"/);
    expect(m).not.toBeNull();
    expect(jobImage(sourceVersion())).toMatch(new RegExp(m![1]));
  });

  it('set-version rewrites every copy, and a copy left behind is reported', () => {
    // A copy of the files that hold versions, in a temporary tree, so the checkout is not touched.
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kr-set-version-'));
    try {
      const files = [
        ...new Set([
          'package.json',
          ...versionPlaces().map(c => c.file),
          'deploy/policy/operator-guardrails.yaml',
        ]),
      ];
      for (const file of files) {
        fs.mkdirSync(path.dirname(path.join(tmp, file)), { recursive: true });
        fs.copyFileSync(path.join(REPO_ROOT, file), path.join(tmp, file));
      }
      for (const dir of [
        'packages/restore-core/src/__golden__',
        'kubectl-plugin/src/__golden__',
      ])
        fs.mkdirSync(path.join(tmp, dir), { recursive: true });
      const run = (args: string[]) =>
        execFileSync(process.execPath, args, {
          cwd: tmp,
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        });
      const script = path.join(REPO_ROOT, 'release/src/set-version.ts');
      const check = path.join(REPO_ROOT, 'release/src/check-versions.ts');

      run([script, '7.8.9-rc.1']);
      expect(run([check])).toContain('7.8.9-rc.1');
      const core = fs.readFileSync(
        path.join(tmp, 'packages/restore-core/src/version.ts'),
        'utf8',
      );
      expect(core).toContain("KUBE_RESTORE_VERSION = '7.8.9-rc.1'");

      fs.writeFileSync(
        path.join(tmp, 'job-image/Dockerfile'),
        fs
          .readFileSync(path.join(tmp, 'job-image/Dockerfile'), 'utf8')
          .replace('restore-job:7.8.9-rc.1', 'restore-job:7.8.8'),
      );
      let failure = '';
      try {
        run([check]);
      } catch (e) {
        failure = String((e as { stderr: string }).stderr);
      }
      expect(failure).toContain('job-image/Dockerfile');
      expect(failure).toContain('7.8.8');
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
