/*
 * Teardown leaves nothing behind: no process (servers, runtimes, containers), mount, cgroup or
 * bridge, after stop(), after the owner is SIGKILLed (the reaper), and for stale state found at the
 * next start.
 */
import { execFileSync, spawn, ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cacheDir, cleanStaleRuns, runsDir, startCluster } from './cluster';
import { isAlive, markedPids, RUN_MARKER } from './processes';
import {
  jobManifest,
  podProcesses,
  podsOfJob,
  restrictedPodSpec,
  waitUntil,
} from './testing';

jest.setTimeout(180_000);

// a process killed after its parent died may stay a zombie until init reaps it: that is dead
const alive = isAlive;

/** what of a run is still on the host: mounts under its directory, bridges, cgroups */
function hostLeftovers(runId: string, runDir: string): string[] {
  const left: string[] = [];
  for (const line of fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')) {
    const mp = line.split(' ')[4];
    if (mp?.startsWith(runDir)) left.push(`mount ${mp}`);
  }
  const short = runId.replace(/[^a-z0-9]/g, '').slice(-6);
  const links = execFileSync('ip', ['-o', 'link', 'show'], {
    encoding: 'utf8',
  });
  for (const m of links.matchAll(/^\d+: ([^:@]+)/gm))
    if (m[1].startsWith(`kr${short}n`)) left.push(`bridge ${m[1]}`);
  for (const sub of fs.readdirSync('/sys/fs/cgroup')) {
    const dir = path.join('/sys/fs/cgroup', sub);
    try {
      for (const e of fs.readdirSync(dir))
        if (e.startsWith(`kube-restore-${runId}-`))
          left.push(`cgroup ${sub}/${e}`);
    } catch {
      /* not a directory */
    }
  }
  return left;
}

it('stop() kills every server and job process and removes its directories', async () => {
  const cluster = await startCluster();
  const { runId, runDir } = cluster;
  const shmDir = path.join('/dev/shm', `kube-restore-${runId}`);
  let stopped = false;
  try {
    await cluster.admin.post(
      '/apis/batch/v1/namespaces/team-a/jobs',
      jobManifest(
        'forever',
        restrictedPodSpec({ stub: ['--ignore-sigterm', '--sleep', '600000'] }),
      ),
    );
    const pod = await waitUntil('the job process to run', async () => {
      const [p] = await podsOfJob(cluster.admin, 'team-a', 'forever');
      return p?.status.phase === 'Running' && p;
    });
    const containers = podProcesses(pod.metadata.uid);
    expect(containers.length).toBeGreaterThan(0);
    const pids = Object.values(cluster.pids());
    // etcd, minio, kube-apiserver, kube-controller-manager, kube-scheduler, containerd and kubelet x2
    expect(pids).toHaveLength(9);
    const marked = markedPids(runId);
    for (const p of pids) expect(marked).toContain(p);
    expect(marked.length).toBeGreaterThan(9); // + the runtime shims
    expect(fs.existsSync(shmDir)).toBe(true);
    expect(hostLeftovers(runId, runDir).length).toBeGreaterThan(0);

    await cluster.stop();
    stopped = true;
    expect(markedPids(runId)).toEqual([]);
    for (const p of [...marked, ...containers]) expect(alive(p)).toBe(false);
    expect(hostLeftovers(runId, runDir)).toEqual([]);
    expect(fs.existsSync(runDir)).toBe(false);
    expect(fs.existsSync(shmDir)).toBe(false);
  } finally {
    if (!stopped) await cluster.stop();
  }
});

it('leaves nothing behind when the process that started the cluster is SIGKILLed', async () => {
  // run startCluster() in a separate node process: bundle the harness as cluster:up does
  const esbuild = require('esbuild');
  // inside the package (dist/ is ignored by git) so that the bundle finds the repository by its own path
  const distDir = path.join(__dirname, '..', 'dist');
  fs.mkdirSync(distDir, { recursive: true }); // dist/ is not in git: a fresh clone has none
  const tmp = fs.mkdtempSync(path.join(distDir, 'teardown-'));
  const bundle = path.join(tmp, 'harness.cjs');
  esbuild.buildSync({
    entryPoints: [path.join(__dirname, 'index.ts')],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    logLevel: 'error',
  });
  const script = `
    const h = require(${JSON.stringify(bundle)});
    h.startCluster().then(c => {
      process.stdout.write(JSON.stringify({ runId: c.runId, runDir: c.runDir, pids: c.pids() }) + '\\n');
      setInterval(() => {}, 1000);
    }, e => { console.error(e); process.exit(1); });`;
  let child: ChildProcess | undefined;
  try {
    child = spawn(process.execPath, ['-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const info = await new Promise<{
      runId: string;
      runDir: string;
      pids: Record<string, number>;
    }>((resolve, reject) => {
      let out = '';
      child!.stdout!.on('data', d => {
        out += d;
        if (out.includes('\n')) resolve(JSON.parse(out));
      });
      child!.on('exit', code => reject(new Error(`child exited ${code}`)));
    });
    expect(markedPids(info.runId).length).toBeGreaterThanOrEqual(9);
    expect(hostLeftovers(info.runId, info.runDir).length).toBeGreaterThan(0);
    child.kill('SIGKILL');
    // A dying process loses its environment (so it is no longer "marked") before it is gone: wait
    // for both (a CI run saw one still exiting right after the marks had gone).
    await waitUntil(
      'the reaper to kill the servers',
      async () =>
        markedPids(info.runId).length === 0 &&
        Object.values(info.pids).every(p => !alive(p)),
      30_000,
    );
    for (const p of Object.values(info.pids)) expect(alive(p)).toBe(false);
    // The reaper removes the run directory, then the tmpfs one (etcd's data): wait for both.
    const shmDir = path.join('/dev/shm', `kube-restore-${info.runId}`);
    await waitUntil(
      'the reaper to remove the run directory and its tmpfs directory',
      async () => !fs.existsSync(info.runDir) && !fs.existsSync(shmDir),
      10_000,
    );
    expect(fs.existsSync(info.runDir)).toBe(false);
    expect(fs.existsSync(shmDir)).toBe(false);
    expect(hostLeftovers(info.runId, info.runDir)).toEqual([]);
  } finally {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

it('cleans stale runs (dead owner, leftover processes and directories) on the next start', async () => {
  const runId = `stale-test-${process.pid}`;
  const dir = path.join(runsDir(cacheDir()), runId);
  fs.mkdirSync(dir, { recursive: true });
  // a leftover "server": marked like the harness marks its children, in its own process group
  const leftover = spawn('sleep', ['600'], {
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, [RUN_MARKER]: runId },
  });
  leftover.unref();
  const deadOwner = spawn('true');
  await new Promise(r => deadOwner.on('exit', r));
  fs.writeFileSync(
    path.join(dir, 'state.json'),
    JSON.stringify({
      runId,
      ownerPid: deadOwner.pid,
      runDir: dir,
      shmDir: path.join('/dev/shm', `kube-restore-${runId}`),
    }),
  );
  fs.mkdirSync(path.join('/dev/shm', `kube-restore-${runId}`), {
    recursive: true,
  });
  expect(markedPids(runId)).toEqual([leftover.pid]);

  const cleaned = await cleanStaleRuns();
  expect(cleaned).toContain(runId);
  expect(markedPids(runId)).toEqual([]);
  expect(alive(leftover.pid!)).toBe(false);
  expect(fs.existsSync(dir)).toBe(false);
  expect(fs.existsSync(path.join('/dev/shm', `kube-restore-${runId}`))).toBe(
    false,
  );
});
