import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureBundle } from './__testUtils__/job';
import { NATIVE_ADDON_FILE } from './nativeAddon';
import { CONTROL_CLIENT_FILE } from './s3/loadControlClient';

const JOB_DIR = path.resolve(__dirname, '..');

/**
 * bundle.json's options as esbuild's command-line flags (`supported` as `--supported:name=value`,
 * `external` as one `--external:path` each).
 */
function asFlags(options: Record<string, unknown>): string[] {
  return Object.entries(options).flatMap(([key, value]) => {
    const flag = `--${key.replace(/[A-Z]/g, c => `-${c.toLowerCase()}`)}`;
    if (value === true) return [flag];
    if (key === 'external' && Array.isArray(value))
      return value.map(v => `${flag}:${v}`);
    if (Array.isArray(value)) return [`${flag}=${value.join(',')}`];
    if (typeof value === 'object' && value !== null)
      return Object.entries(value).map(([k, v]) => `${flag}:${k}=${v}`);
    return [`${flag}=${String(value)}`];
  });
}

/** The flags of the Dockerfile's esbuild command, without the output's own (outfile, legal comments). */
function dockerfileFlags(dockerfile: string): string[] {
  const command = /RUN \S*esbuild (.*?)(?:&&|$)/s.exec(
    dockerfile.replace(/\\\n/g, ' '),
  );
  if (!command) throw new Error('no esbuild command in job-image/Dockerfile');
  return command[1]
    .split(/\s+/)
    .filter(f => f.startsWith('--'))
    .filter(f => !/^--(outfile|legal-comments)=/.test(f));
}

describe('the bundle', () => {
  const options = JSON.parse(
    readFileSync(path.join(JOB_DIR, 'bundle.json'), 'utf8'),
  );

  it('is built with the same esbuild options in the image as by build.mjs and the tests', () => {
    const dockerfile = readFileSync(path.join(JOB_DIR, 'Dockerfile'), 'utf8');
    expect(dockerfileFlags(dockerfile).sort()).toEqual(asFlags(options).sort());
    const buildScript = readFileSync(path.join(JOB_DIR, 'build.mjs'), 'utf8');
    expect(buildScript).toContain("'bundle.json'");
  });

  it("takes the AWS SDK's ES modules, so that what the job never sends is left out", () => {
    expect(options.mainFields).toEqual(['module', 'main']);
    const client = readFileSync(
      path.join(path.dirname(ensureBundle()), CONTROL_CLIENT_FILE),
      'utf8',
    );
    // A command the job sends is in, one it never sends (PutObject) is not.
    expect(client).toContain('ListObjectVersionsCommand');
    expect(client).not.toContain('PutObjectCommand');
  });

  it("keeps the SDK's client out of the program's bundle, which loads it from beside itself", () => {
    expect(options.external).toEqual(['./controlClient']);
    const dir = path.dirname(ensureBundle());
    const bundle = readFileSync(path.join(dir, 'restore-job.cjs'), 'utf8');
    const client = readFileSync(path.join(dir, CONTROL_CLIENT_FILE), 'utf8');
    // esbuild names each module it bundles in a comment; the client and a command are defined so
    const sdk = [
      /\/@aws-sdk\/client-s3\//,
      /var S3Client = class/,
      /var ListObjectVersionsCommand = class/,
    ];
    expect(sdk.filter(re => re.test(client))).toEqual(sdk);
    expect(sdk.filter(re => re.test(bundle))).toEqual([]);
    expect(bundle).toContain(CONTROL_CLIENT_FILE);
  });

  it('loads node:tls and node:worker_threads only when it needs them (each costs its start)', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kr-modules-'));
    try {
      const out = path.join(dir, 'modules.json');
      const preload = path.join(dir, 'record.cjs');
      writeFileSync(
        preload,
        `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify(process.moduleLoadList)));`,
      );
      // an empty request: the whole bundle is loaded, then the job refuses it (exit 42)
      const run = spawnSync(
        process.execPath,
        ['-r', preload, ensureBundle(), '--request', '/dev/null'],
        { encoding: 'utf8' },
      );
      expect(run.status).toBe(42);
      const loaded: string[] = JSON.parse(readFileSync(out, 'utf8'));
      expect(loaded).toContain('NativeModule net');
      expect(loaded).toContain('NativeModule crypto');
      expect(loaded).not.toContain('NativeModule tls');
      expect(loaded).not.toContain('NativeModule worker_threads');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('has no dynamic import(): the SDK\'s lazy `import("node:http")` is a require, not a trip through the ESM loader', () => {
    expect(options.supported).toEqual({ 'dynamic-import': false });
    const dir = path.dirname(ensureBundle());
    for (const file of ['restore-job.cjs', CONTROL_CLIENT_FILE])
      expect(readFileSync(path.join(dir, file), 'utf8')).not.toMatch(
        /\bimport\(\s*["'`]node:/,
      );
    // the SDK, and with it its lazy load of node:http, is in the control client's bundle
    expect(readFileSync(path.join(dir, CONTROL_CLIENT_FILE), 'utf8')).toMatch(
      /require\(["']node:http["']\)/,
    );
  });
});

describe('build.mjs --check', () => {
  const build = path.join(JOB_DIR, 'build.mjs');
  const check = (file: string) =>
    spawnSync(process.execPath, [build, '--check', file], { encoding: 'utf8' });

  it('passes the bundle a build just wrote, and names what changed since', () => {
    // ensureBundle() wrote this test process's bundle with build.mjs, and its stamp
    const bundle = ensureBundle();
    const fresh = check(bundle);
    expect(fresh.stderr).toBe('');
    expect(fresh.status).toBe(0);

    // a copy whose stamp says src/cli.ts had other content when it was built
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kr-stamp-'));
    const copy = path.join(dir, 'restore-job.cjs');
    copyFileSync(bundle, copy);
    const worker = path.join(path.dirname(bundle), 'hash-worker.cjs');
    copyFileSync(worker, path.join(dir, 'hash-worker.cjs'));
    const client = path.join(path.dirname(bundle), CONTROL_CLIENT_FILE);
    copyFileSync(client, path.join(dir, CONTROL_CLIENT_FILE));
    const addon = path.join(path.dirname(bundle), NATIVE_ADDON_FILE);
    copyFileSync(addon, path.join(dir, NATIVE_ADDON_FILE));
    const stamp = JSON.parse(readFileSync(`${bundle}.stamp.json`, 'utf8'));
    expect(Object.keys(stamp.inputs)).toEqual(
      expect.arrayContaining([
        'bundle.json',
        'src/cli.ts',
        'src/main.ts',
        'native/checksums.c',
        'native/native.json',
      ]),
    );
    stamp.inputs['src/cli.ts'] = '0'.repeat(64);
    writeFileSync(`${copy}.stamp.json`, JSON.stringify(stamp));
    const stale = check(copy);
    expect(stale.status).toBe(1);
    expect(stale.stderr).toBe(
      'the job bundle is stale: src/cli.ts changed since the build. Run `npm run build -w @kube-restore/job`\n',
    );

    // a bundle overwritten after its build (by another build, or by hand)
    stamp.inputs['src/cli.ts'] = JSON.parse(
      readFileSync(`${bundle}.stamp.json`, 'utf8'),
    ).inputs['src/cli.ts'];
    writeFileSync(`${copy}.stamp.json`, JSON.stringify(stamp));
    expect(check(copy).status).toBe(0);
    // the worker beside it missing, or not the one built with it
    writeFileSync(path.join(dir, 'hash-worker.cjs'), '// not the worker\n');
    expect(check(copy).stderr).toContain(
      `${path.join(dir, 'hash-worker.cjs')} is missing or changed after its build`,
    );
    copyFileSync(worker, path.join(dir, 'hash-worker.cjs'));
    expect(check(copy).status).toBe(0);
    // the same for the control client
    rmSync(path.join(dir, CONTROL_CLIENT_FILE));
    expect(check(copy).stderr).toContain(
      `${path.join(dir, CONTROL_CLIENT_FILE)} is missing or changed after its build`,
    );
    copyFileSync(client, path.join(dir, CONTROL_CLIENT_FILE));
    expect(check(copy).status).toBe(0);
    // and for the native addon
    rmSync(path.join(dir, NATIVE_ADDON_FILE));
    expect(check(copy).stderr).toContain(
      `${path.join(dir, NATIVE_ADDON_FILE)} is missing or changed after its build`,
    );
    copyFileSync(addon, path.join(dir, NATIVE_ADDON_FILE));
    expect(check(copy).status).toBe(0);
    writeFileSync(copy, '// not the bundle\n');
    expect(check(copy).stderr).toContain(
      `${copy} changed after its build (another build wrote it?)`,
    );
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails on a bundle without a stamp or no bundle at all', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kr-stamp-'));
    const file = path.join(dir, 'restore-job.cjs');
    expect(check(file).stderr).toContain(`${file} is missing`);
    writeFileSync(file, '');
    expect(check(file)).toMatchObject({ status: 1 });
    expect(check(file).stderr).toContain('has no restore-job.cjs.stamp.json');
    rmSync(dir, { recursive: true, force: true });
  });
});
