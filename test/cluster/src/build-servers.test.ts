/*
 * build-servers.sh: a missing Go toolchain or an unreachable module proxy is an error, not a skip;
 * a cached build builds nothing.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BUILD_SCRIPT } from './binaries';
import { cacheDir } from './run';

jest.setTimeout(120_000);

function runScript(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise(resolve => {
    execFile('bash', [BUILD_SCRIPT, ...args], { env }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as any).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** A PATH with the tools the script uses, and no Go (whatever this machine has in /usr/bin). */
function pathWithoutGo(dir: string): string {
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin, { recursive: true });
  for (const tool of [
    'bash',
    'mkdir',
    'flock',
    'date',
    'sed',
    'wc',
    'cat',
    'mv',
    'rm',
    'rmdir',
    'timeout',
    'env',
  ]) {
    const found = ['/usr/bin', '/bin', '/usr/local/bin']
      .map(d => path.join(d, tool))
      .find(f => fs.existsSync(f));
    if (found) fs.symlinkSync(found, path.join(bin, tool));
  }
  return bin;
}

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kr-build-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

it('fails with a clear message when there is no Go toolchain', async () => {
  const r = await runScript(['etcd'], {
    PATH: pathWithoutGo(tmp),
    HOME: tmp,
    KUBE_RESTORE_CACHE: path.join(tmp, 'cache'),
  });
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/ERROR: no Go toolchain on PATH/);
  expect(r.stdout).toBe('');
});

it('fails with a clear message when the module proxy is unreachable', async () => {
  const r = await runScript(['etcd'], {
    ...process.env,
    HOME: tmp,
    KUBE_RESTORE_CACHE: path.join(tmp, 'cache'),
    GOMODCACHE: path.join(tmp, 'gomod'),
    GOPROXY: 'http://127.0.0.1:9',
    GOFLAGS: '-modcacherw',
  });
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/ERROR: the Go module proxy .* is unreachable/);
});

it(
  'builds nothing when everything is cached, and needs no Go for that',
  async () => {
    // warm the cache first (a no-op on a warm machine, a full cold build otherwise)
    const warm = await runScript([], { ...process.env });
    expect(warm.code).toBe(0);
    const r = await runScript([], {
      PATH: pathWithoutGo(tmp),
      HOME: tmp,
      KUBE_RESTORE_CACHE: cacheDir(),
    });
    expect(r.stderr).not.toMatch(/building/);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(warm.stdout);
    expect(
      r.stdout
        .trim()
        .split('\n')
        .map(l => l.split('=')[0]),
    ).toEqual([
      'KUBE_APISERVER',
      'KUBE_CONTROLLER_MANAGER',
      'KUBECTL',
      'KUBELET',
      'KUBE_SCHEDULER',
      'ETCD',
      'MINIO',
      'MC',
      'VERSITYGW',
      'CNI_BIN_DIR',
      'PAUSE',
    ]);
  },
  45 * 60_000,
);
