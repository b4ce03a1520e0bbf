/*
 * cluster:up / cluster:down as a person uses them: export lines on stdout, idempotent while up,
 * processes survive the command, down stops everything by PID.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { isAlive, markedPids } from './processes';

const run = promisify(execFile);
jest.setTimeout(240_000);

const script = path.resolve(__dirname, '..', 'scripts', 'cluster.cjs');
const upDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kr-cluster-up-'));
const env = {
  ...process.env,
  KUBE_RESTORE_UP_DIR: upDir,
  KUBE_RESTORE_CLUSTER_VERBOSE: '0',
};

const cli = (cmd: string) =>
  run(process.execPath, [script, cmd], { env, maxBuffer: 1 << 20 });

function parseExports(stdout: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of stdout.split('\n').filter(Boolean)) {
    const m = /^export ([A-Z0-9_]+)='([^']*)'$/.exec(line);
    if (!m) throw new Error(`not an export line: ${line}`);
    vars[m[1]] = m[2];
  }
  return vars;
}

afterAll(async () => {
  await cli('down').catch(() => {});
  fs.rmSync(upDir, { recursive: true, force: true });
});

it('up prints export lines, is idempotent, and down stops every process', async () => {
  const first = await cli('up');
  const vars = parseExports(first.stdout);
  expect(Object.keys(vars)).toEqual([
    'KUBECONFIG',
    'KUBECONFIG_OPERATOR',
    'KUBECONFIG_ALICE',
    'KUBECONFIG_BOB',
    'KUBE_RESTORE_S3_ENDPOINT',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_REGION',
  ]);
  const state = JSON.parse(
    fs.readFileSync(path.join(upDir, 'cluster-up.json'), 'utf8'),
  );
  // the daemon and the servers outlive the command
  expect(isAlive(state.daemonPid)).toBe(true);
  const kubectl = await run(
    state.kubectl,
    ['get', 'namespace', 'team-a', '-o', 'name'],
    {
      env: { ...process.env, KUBECONFIG: vars.KUBECONFIG },
    },
  );
  expect(kubectl.stdout.trim()).toBe('namespace/team-a');
  const marked = markedPids(state.runId);
  expect(marked.length).toBeGreaterThanOrEqual(4);

  const t0 = Date.now();
  const again = await cli('up');
  expect(Date.now() - t0).toBeLessThan(5000);
  expect(parseExports(again.stdout)).toEqual(vars);

  await cli('down');
  expect(markedPids(state.runId)).toEqual([]);
  expect(isAlive(state.daemonPid)).toBe(false); // (a zombie until init reaps it counts as gone)
  expect(fs.existsSync(path.join(upDir, 'cluster-up.json'))).toBe(false);
  expect(fs.existsSync(state.runDir)).toBe(false);
  const status = await cli('status').catch(e => e);
  expect(status.code).toBe(1);
});
