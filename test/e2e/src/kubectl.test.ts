/*
 * `kubectl restore` end to end: the plugin is built, installed with `npm install -g` into a temporary
 * prefix, and driven through the REAL kubectl binary (plugin discovery on PATH) against the harness
 * cluster (real apiserver, RBAC, Pod Security `restricted`, Job controller; the local kubelet runs the
 * job program as a process) and MinIO. Missing prerequisites (binaries, the job program, the plugin
 * build) fail the suite; nothing is skipped.
 */
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createS3Client } from '@kube-restore/core';
import { Cluster, startCluster } from '@kube-restore/test-cluster';

const execFileAsync = promisify(execFile);
const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const PLUGIN_DIR = path.join(REPO_ROOT, 'kubectl-plugin');
const BUCKET = 'backups';

jest.setTimeout(180_000);

let cluster: Cluster;
let prefix: string;
let env: Record<string, string>;
let s3Url: string;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end and never throws: the exit code is part of what is tested. */
function sh(
  command: string,
  args: string[],
  options: {
    env?: Record<string, string>;
    input?: string;
    timeoutMs?: number;
  } = {},
): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: options.env ?? env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', d => (stdout += d));
    child.stderr.on('data', d => (stderr += d));
    const timer = setTimeout(
      () => child.kill('SIGKILL'),
      options.timeoutMs ?? 150_000,
    );
    child.on('error', reject);
    child.on('close', code => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** `kubectl restore ...` through the real kubectl, as alice (team-a editor) unless told otherwise. */
const kubectlRestore = (args: string[], as: 'alice' | 'admin' = 'alice') =>
  sh('kubectl', ['restore', ...args], {
    env: { ...env, KUBECONFIG: cluster.kubeconfig[as] },
  });

const kubectl = (args: string[], input?: string) =>
  sh('kubectl', args, {
    env: { ...env, KUBECONFIG: cluster.kubeconfig.admin },
    input,
  });

async function jobNames(namespace: string): Promise<string[]> {
  const r = await kubectl([
    'get',
    'jobs',
    '-n',
    namespace,
    '-o',
    'jsonpath={.items[*].metadata.name}',
  ]);
  expect(r.stderr).toBe('');
  return r.stdout.split(' ').filter(Boolean);
}

async function pvcNames(namespace: string): Promise<string[]> {
  const r = await kubectl([
    'get',
    'pvc',
    '-n',
    namespace,
    '-o',
    'jsonpath={.items[*].metadata.name}',
  ]);
  return r.stdout.split(' ').filter(Boolean);
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name), `${rel}${e.name}/`);
      else out.push(`${rel}${e.name}`);
    }
  };
  walk(dir, '');
  return out.sort();
}

beforeAll(async () => {
  // Build the plugin bundle and install it as users do, into a throw-away global prefix.
  await execFileAsync(process.execPath, [path.join(PLUGIN_DIR, 'build.mjs')], {
    cwd: PLUGIN_DIR,
  });
  prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'kubectl-restore-e2e-'));
  await execFileAsync(
    'npm',
    [
      'install',
      '-g',
      '--prefix',
      prefix,
      '--offline',
      '--no-audit',
      '--no-fund',
      PLUGIN_DIR,
    ],
    {
      cwd: REPO_ROOT,
    },
  );
  if (!fs.existsSync(path.join(prefix, 'bin', 'kubectl-restore')))
    throw new Error(
      `npm install -g did not put kubectl-restore in ${prefix}/bin`,
    );

  cluster = await startCluster();
  const s3 = cluster.s3!;
  env = {
    PATH: `${path.join(prefix, 'bin')}:${process.env.PATH}`,
    HOME: process.env.HOME ?? os.tmpdir(),
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    AWS_REGION: s3.region,
  };
  s3Url = `${s3.endpoint}/${BUCKET}`;
  const client = createS3Client(
    { endpoint: s3.endpoint, region: s3.region, pathStyle: true },
    s3,
  );
  await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const objects: Record<string, string> = {
    'team-a/data/hello.txt': 'hello from S3\n',
    'team-a/data/dir/nested.txt': 'nested\n',
    'team-a/data/dir/deeper/blob.bin': 'x'.repeat(256 * 1024),
    'team-a/other/one.txt': '1\n',
    'namespace-backup/alpha/a.txt': 'alpha\n',
    'namespace-backup/beta/sub/b.txt': 'beta\n',
  };
  for (const [Key, Body] of Object.entries(objects))
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body }));
  client.destroy();
}, 600_000);

afterAll(async () => {
  await cluster?.stop();
  if (prefix) fs.rmSync(prefix, { recursive: true, force: true });
}, 60_000);

describe('kubectl restore (real kubectl, real cluster)', () => {
  it('is found by kubectl and reports its version', async () => {
    const r = await kubectlRestore(['version']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^kubectl-restore v0\.1\.0/);
    const plugins = await sh('kubectl', ['plugin', 'list', '--name-only']);
    expect(plugins.stdout).toContain('kubectl-restore');
  });

  it('plan sizes the source, checks the PVC and access, and creates nothing', async () => {
    const before = await jobNames('team-a');
    const r = await kubectlRestore([
      'plan',
      '--from',
      `${s3Url}/team-a/data/`,
      '--to',
      'pvc/planned',
      '--credentials-from-env',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Objects:\s+3 \(/);
    expect(r.stdout).toMatch(/Target PVC:\s+planned will be created with 1Gi/);
    expect(r.stdout).toMatch(/Ready:\s+yes/);
    expect(await jobNames('team-a')).toEqual(before);
  });

  it('--dry-run=client -o yaml prints manifests the API server accepts (kubectl apply --dry-run=server)', async () => {
    const r = await kubectlRestore([
      'create',
      '--from',
      `${s3Url}/team-a/data/`,
      '--to',
      'pvc/dry',
      '--size',
      '1Gi',
      '--secret',
      's3-creds',
      '--dry-run=client',
      '-o',
      'yaml',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('kind: Job');
    const applied = await kubectl(
      ['apply', '--dry-run=server', '-f', '-'],
      r.stdout,
    );
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    expect(applied.stdout).toMatch(
      /persistentvolumeclaim\/dry created \(server dry run\)/,
    );
    expect(applied.stdout).toMatch(
      /job.batch\/restore-dry-[0-9a-f]{8} created \(server dry run\)/,
    );
    expect(await pvcNames('team-a')).not.toContain('dry');

    const server = await kubectlRestore([
      'create',
      '--from',
      `${s3Url}/team-a/data/`,
      '--to',
      'pvc/dry',
      '--size',
      '1Gi',
      '--credentials-from-env',
      '--dry-run=server',
    ]);
    expect(server.stderr).toBe('');
    expect(server.code).toBe(0);
    expect(server.stdout).toMatch(
      /^persistentvolumeclaim\/dry created \(server dry run\)$/m,
    );
    expect(server.stdout).toMatch(
      /^secret\/restore-dry-[0-9a-f]{8}-credentials created \(server dry run\)$/m,
    );
    expect(await pvcNames('team-a')).not.toContain('dry');
    expect(
      (await jobNames('team-a')).filter(j => j.startsWith('restore-dry-')),
    ).toEqual([]);
  });

  it('create --wait runs to Succeeded and the files are in the PVC', async () => {
    const r = await kubectlRestore([
      'create',
      'demo',
      '--from',
      `${s3Url}/team-a/data/`,
      '--to',
      'pvc/data',
      '--size',
      'auto',
      '--credentials-from-env',
      '--wait',
      '--timeout',
      '2m',
    ]);
    expect(r.stderr).not.toContain('error:');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('restore/demo created in namespace team-a');
    expect(r.stdout).toMatch(/restore\/demo Succeeded: 3 objects/);
    // Off a terminal the progress is plain lines on stderr, never credentials.
    expect(r.stderr).toContain('restore/demo');
    expect(r.stderr).not.toContain(cluster.s3!.secretAccessKey);
    const dir = await cluster.pvcPath('team-a', 'data');
    const files = listFiles(dir).filter(f => !f.startsWith('.kube-restore/'));
    expect(files).toEqual([
      'dir/deeper/blob.bin',
      'dir/nested.txt',
      'hello.txt',
    ]);
    expect(fs.readFileSync(path.join(dir, 'hello.txt'), 'utf8')).toBe(
      'hello from S3\n',
    );
  });

  it('status, describe, list, logs and wait show the finished restore', async () => {
    const status = await kubectlRestore(['status', 'demo']);
    expect(status).toMatchObject({ code: 0, stderr: '' });
    expect(status.stdout).toMatch(/Phase:\s+Succeeded/);
    expect(status.stdout).toMatch(/Result:\s+3 objects/);

    const json = JSON.parse(
      (await kubectlRestore(['status', 'demo', '-o', 'json'])).stdout,
    );
    expect(json).toMatchObject({
      name: 'demo',
      namespace: 'team-a',
      phase: 'Succeeded',
      pvc: 'data',
      requester: 'alice',
    });

    const describe = await kubectlRestore(['describe', 'demo']);
    expect(describe.code).toBe(0);
    expect(describe.stdout).toMatch(/Pods:\s+demo-/);
    expect(describe.stdout).toContain('Events:');

    const list = await kubectlRestore(['list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^NAME\s+PHASE\s+PVC\s+PROGRESS\s+AGE\n/);
    expect(list.stdout).toMatch(/demo\s+Succeeded\s+data\s+100%/);
    expect((await kubectlRestore(['get', '-o', 'name'])).stdout).toContain(
      'restore/demo\n',
    );
    const all = await kubectlRestore(['list', '-A', '-o', 'wide'], 'admin');
    expect(all.stdout).toMatch(/team-a\s+demo\s+Succeeded/);

    const logs = await kubectlRestore(['logs', 'demo']);
    expect(logs.code).toBe(0);
    expect(logs.stdout.length).toBeGreaterThan(0);
    expect(logs.stdout).not.toMatch(/^\{"type"/m);
    // The job in its restricted pod on a real kubelet runs the image's native addon: CRCs in the
    // CPU's instructions and small files in one trip (job-image/native).
    expect(logs.stdout).toMatch(
      /restore starting .*checksums=native smallFiles=native/,
    );
    const raw = await kubectlRestore(['logs', 'demo', '--raw']);
    expect(raw.stdout).toMatch(/^\{"type":"(log|progress)"/m);
    const follow = await kubectlRestore(['logs', 'demo', '-f']);
    expect(follow.code).toBe(0);
    expect(follow.stdout).toBe(logs.stdout);

    const wait = await kubectlRestore(['wait', 'demo', '--timeout', '30s']);
    expect(wait).toMatchObject({ code: 0 });
    expect(wait.stdout).toMatch(/restore\/demo Succeeded/);
  });

  it('creating the same restore again is idempotent', async () => {
    const r = await kubectlRestore([
      'create',
      'demo',
      '--from',
      `${s3Url}/team-a/data/`,
      '--to',
      'pvc/data',
      '--size',
      'auto',
      '--credentials-from-env',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('restore/demo unchanged');
  });

  it('a failing restore ends with its error code and message, and exit 1', async () => {
    const r = await kubectlRestore([
      'create',
      'broken',
      '--from',
      `${cluster.s3!.endpoint}/no-such-bucket/x/`,
      '--to',
      'pvc/broken',
      '--size',
      '1Gi',
      '--credentials-from-env',
      '--wait',
      '--timeout',
      '2m',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^error: restore broken failed: NO_SUCH_BUCKET: .+$/m,
    );
    const status = await kubectlRestore(['status', 'broken']);
    expect(status.stdout).toMatch(/Phase:\s+Failed/);
    expect(status.stdout).toMatch(/Error:\s+NO_SUCH_BUCKET: /);
    const wait = await kubectlRestore(['wait', 'broken']);
    expect(wait.code).toBe(1);
    expect(wait.stderr).toMatch(/NO_SUCH_BUCKET/);
  });

  it('alice gets a clear forbidden message in team-b (exit 3) and nothing is created there', async () => {
    const r = await kubectlRestore([
      'create',
      '-n',
      'team-b',
      '--from',
      `${s3Url}/team-a/data/`,
      '--to',
      'pvc/data',
      '--size',
      '1Gi',
      '--secret',
      's3-creds',
    ]);
    expect(r.code).toBe(3);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(
      /^error: forbidden: this identity may not \w+ [\w./]+ in namespace team-b/,
    );
    expect(await jobNames('team-b')).toEqual([]);
    expect(await pvcNames('team-b')).toEqual([]);

    const plan = await kubectlRestore([
      'plan',
      '-n',
      'team-b',
      '--from',
      `${s3Url}/team-a/data/`,
      '--to',
      'pvc/data',
      '--credentials-from-env',
    ]);
    expect(plan.code).toBe(3);
    expect(plan.stdout).toMatch(/NO\s+create jobs/);
    expect(plan.stdout).toContain('this identity may not create jobs');
  });

  it.each([
    [
      ['--from', 's3://Not_A_Bucket/x/', '--to', 'pvc/x', '--size', '1Gi'],
      2,
      'invalid --from',
    ],
    [
      ['--from', 's3://backups/x/', '--to', 'pvc/x', '--size', '12XB'],
      2,
      'invalid --size: invalid quantity "12XB"',
    ],
    [
      ['--from', 's3://backups/x/', '--to', 'pvc/Bad_Name', '--size', '1Gi'],
      2,
      'invalid --to',
    ],
    [
      [
        '--from',
        's3://backups/x/',
        '--to',
        'pvc/x',
        '--size',
        '1Gi',
        '--uid',
        '0',
      ],
      2,
      'invalid --uid',
    ],
    [
      [
        '--from',
        's3://backups/x/',
        '--to',
        'pvc/x',
        '--size',
        '1Gi',
        '--dry-run=sometimes',
      ],
      2,
      'invalid --dry-run "sometimes"',
    ],
    [
      [
        '--from',
        's3://backups/x/',
        '--to',
        'pvc/x',
        '--size',
        '1Gi',
        '--bogus',
      ],
      2,
      'Unknown argument',
    ],
  ])(
    'bad input %j exits %d naming the value and creates nothing',
    async (args, code, message) => {
      const jobs = await jobNames('team-a');
      const pvcs = await pvcNames('team-a');
      const r = await kubectlRestore(['create', ...args]);
      expect(r.code).toBe(code);
      expect(r.stderr).toContain(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(await jobNames('team-a')).toEqual(jobs);
      expect(await pvcNames('team-a')).toEqual(pvcs);
    },
  );

  it('status of an unknown restore exits 4', async () => {
    const r = await kubectlRestore(['status', 'nope']);
    expect(r).toMatchObject({ code: 4, stdout: '' });
    expect(r.stderr).toBe(
      'error: restore "nope" not found in namespace team-a\n',
    );
  });

  it('exists answers restore (0) or fresh (10) for a PVC', async () => {
    const layout = `${s3Url}/\${namespace}/\${pvc}/`;
    const yes = await kubectlRestore([
      'exists',
      'team-a/data',
      '--from',
      layout,
      '--credentials-from-env',
    ]);
    expect(yes.code).toBe(0);
    expect(yes.stdout).toMatch(/^restore /);
    const no = await kubectlRestore([
      'exists',
      'team-a/nothing-here',
      '--from',
      layout,
      '--credentials-from-env',
    ]);
    expect(no.code).toBe(10);
    expect(no.stdout).toMatch(/^fresh /);
  });

  it('create-namespace restores one PVC per folder under the prefix', async () => {
    const r = await kubectlRestore([
      'create-namespace',
      '--from',
      `${s3Url}/namespace-backup/`,
      '--size',
      '1Gi',
      '--credentials-from-env',
      '--wait',
      '--timeout',
      '2m',
    ]);
    expect(r.stderr).not.toContain('error:');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      'found 2 PVC folder(s) under s3://backups/namespace-backup/: alpha, beta',
    );
    expect(r.stdout).toMatch(/restore\/restore-alpha-[0-9a-f]{8} Succeeded/);
    expect(r.stdout).toMatch(/restore\/restore-beta-[0-9a-f]{8} Succeeded/);
    expect(
      listFiles(await cluster.pvcPath('team-a', 'alpha')).filter(
        f => !f.startsWith('.kube-restore/'),
      ),
    ).toEqual(['a.txt']);
    expect(
      listFiles(await cluster.pvcPath('team-a', 'beta')).filter(
        f => !f.startsWith('.kube-restore/'),
      ),
    ).toEqual(['sub/b.txt']);
  });

  it('delete removes the restore and keeps the PVC; --keep-pvc=false removes the PVC it created', async () => {
    const kept = await kubectlRestore(['delete', 'broken']);
    expect(kept).toMatchObject({ code: 0, stdout: 'restore/broken deleted\n' });
    expect(await pvcNames('team-a')).toContain('broken');
    const gone = await kubectlRestore(['delete', 'demo', '--keep-pvc=false']);
    expect(gone).toMatchObject({
      code: 0,
      stdout: 'restore/demo deleted (and persistentvolumeclaim/data)\n',
    });
    expect((await kubectlRestore(['status', 'demo'])).code).toBe(4);
  });

  it('kubectl completes restore names through kubectl_complete-restore', async () => {
    const r = await sh('kubectl', ['__complete', 'restore', 'st'], {
      env: { ...env, KUBECONFIG: cluster.kubeconfig.alice },
    });
    expect(r.stdout).toContain('status');
  });
});
