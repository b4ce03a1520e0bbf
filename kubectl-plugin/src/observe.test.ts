/**
 * status, describe, list, wait, delete, logs and version through `main`, with core's cluster calls
 * replaced: golden output and exit codes.
 */
import * as core from '@kube-restore/core';
import { restoring, succeeded } from './__testUtils__/fixtures';
import { expectGolden } from './__testUtils__/golden';
import { run, statuses } from './__testUtils__/run';

jest.mock('@kube-restore/core', () =>
  require('./__testUtils__/fakeCore').fakeCore(),
);

const mocked = core as jest.Mocked<typeof core>;

beforeEach(() => jest.clearAllMocks());

describe('status, describe, list, wait, delete, logs', () => {
  it('status prints the short block; -o json the status object', async () => {
    mocked.getRestore.mockResolvedValue(restoring);
    const r = await run([
      'status',
      'restore/restore-data-1a2b3c4d',
      '-n',
      'team-a',
    ]);
    expect(r.code).toBe(0);
    expect(mocked.getRestore).toHaveBeenCalledWith(
      expect.anything(),
      'team-a',
      'restore-data-1a2b3c4d',
    );
    expectGolden('status-restoring.txt', r.stdout);
    expect(
      JSON.parse(
        (await run(['status', 'restore-data-1a2b3c4d', '-o', 'json'])).stdout,
      ),
    ).toEqual(restoring);
  });

  it('status of an unknown restore exits 4', async () => {
    mocked.getRestore.mockRejectedValue(
      new core.RestoreError(
        'NotFound',
        'restore "nope" not found in namespace team-a',
      ),
    );
    const r = await run(['status', 'nope']);
    expect(r).toMatchObject({
      code: 4,
      stderr: 'error: restore "nope" not found in namespace team-a\n',
    });
  });

  it('list -A asks core for every namespace; -o name prints restore/NAME', async () => {
    mocked.listRestores.mockResolvedValue([restoring, succeeded]);
    const r = await run(['get', '-A']);
    expect(mocked.listRestores).toHaveBeenCalledWith(
      expect.anything(),
      expect.objectContaining({ namespace: undefined }),
    );
    expectGolden('list-all-namespaces.txt', r.stdout);
    const names = await run(['list', '-o', 'name', '-l', 'team=a']);
    expect(mocked.listRestores).toHaveBeenLastCalledWith(expect.anything(), {
      namespace: 'team-a',
      labelSelector: 'team=a',
      progress: false,
    });
    expect(names.stdout).toBe(
      'restore/restore-data-1a2b3c4d\nrestore/restore-db-9f8e7d6c\n',
    );
  });

  it("list shows a finished populator restore from its RestoreSource's record once its Job is gone", async () => {
    // the populator names its restores prime-<uid of the user's PVC>
    const withJob = {
      ...succeeded,
      name: 'prime-1b2c3d4e-5f60-4718-8293-a4b5c6d7e8f9',
    };
    mocked.listRestores.mockResolvedValue([withJob]);
    mocked.listRestoreSources.mockResolvedValue([
      {
        metadata: { name: 'seed', namespace: 'team-a' },
        spec: { source: { bucket: 'datasets', prefix: 'set/' } },
        status: {
          pvcs: [
            {
              pvc: 'data',
              state: 'Succeeded',
              restore: 'prime-0f3a2c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b',
              lastTransitionTime: '2026-11-21T11:58:00Z',
            },
            // one whose Job is still there is listed once, from its Job
            {
              pvc: 'db',
              state: 'Succeeded',
              restore: withJob.name,
              lastTransitionTime: '2026-03-01T09:00:00Z',
            },
          ],
        },
      },
    ]);
    const r = await run(['list']);
    expect(mocked.listRestoreSources).toHaveBeenCalledWith(
      expect.anything(),
      'team-a',
    );
    expectGolden('list-populator-finished.txt', r.stdout);
    const json = JSON.parse((await run(['list', '-o', 'json'])).stdout);
    expect(json.items.map((i: { name: string }) => i.name)).toEqual([
      'prime-0f3a2c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b',
      withJob.name,
    ]);
    expect(json.items[1].populator).toEqual({
      pvc: 'db',
      restoreSource: 'seed',
    });
    // a label selector: the records carry no labels
    mocked.listRestoreSources.mockClear();
    await run(['list', '-l', 'team=a']);
    expect(mocked.listRestoreSources).not.toHaveBeenCalled();
  });

  it("status of a finished populator restore whose Job is gone reads its RestoreSource's record", async () => {
    const name = 'prime-0f3a2c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b';
    mocked.getRestore.mockRejectedValue(
      new core.RestoreError('NotFound', `restore "${name}" not found`),
    );
    mocked.listRestoreSources.mockResolvedValue([
      {
        metadata: { name: 'seed', namespace: 'team-a' },
        spec: { source: { bucket: 'datasets', prefix: 'set/' } },
        status: {
          pvcs: [
            {
              pvc: 'data',
              state: 'Failed',
              code: 'NO_SUCH_BUCKET',
              message: 'bucket datasets does not exist',
              attempts: 3,
              restore: name,
              lastTransitionTime: '2026-11-21T11:58:00Z',
            },
          ],
        },
      },
    ]);
    const r = await run(['status', name]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Failed');
    expect(r.stdout).toContain('NO_SUCH_BUCKET');
    expect(r.stdout).toContain('Via:          populator, RestoreSource seed\n');
    // another name, not found anywhere: the Job's NotFound, exit 4
    const other = await run(['status', 'restore-nope']);
    expect(other.code).toBe(4);
  });

  it("prints a hostile RestoreSource's record as visible escapes, never as controls", async () => {
    const name = 'prime-0f3a2c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b';
    mocked.listRestores.mockResolvedValue([]);
    mocked.getRestore.mockRejectedValue(
      new core.RestoreError('NotFound', `restore "${name}" not found`),
    );
    mocked.listRestoreSources.mockResolvedValue([
      {
        metadata: { name: 'seed', namespace: 'team-b' },
        spec: {
          source: { bucket: 'datasets', prefix: 'p/\x1b]52;c;eA==\x07' },
        },
        status: {
          pvcs: [
            {
              pvc: 'data',
              state: 'Failed',
              code: 'X\x1b[2J',
              message: 'gone\x1b]52;c;eA==\x07\u202e',
              restore: name,
              lastTransitionTime: '2026-11-21T11:58:00Z',
            },
          ],
        },
      },
    ]);
    // eslint-disable-next-line no-control-regex
    const active = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/;
    const list = await run(['list', '-A', '-o', 'wide']);
    expect(list.code).toBe(0);
    expect(list.stdout).not.toMatch(active);
    expect(list.stdout).toContain('<invalid RestoreSource>');
    expect(list.stdout).toContain('X\\x1b[2J');
    const status = await run(['status', name, '-n', 'team-b']);
    expect(status.code).toBe(0);
    expect(status.stdout).not.toMatch(active);
    expect(status.stdout).toContain(
      'Error:        X\\x1b[2J: gone\\x1b]52;c;eA==\\x07\\u{202e}\n',
    );
  });

  it('list without the right to list RestoreSources lists the Jobs as before', async () => {
    mocked.listRestores.mockResolvedValue([succeeded]);
    mocked.listRestoreSources.mockRejectedValue(
      new core.RestoreError('Forbidden', 'may not list restoresources'),
    );
    const r = await run(['list', '-o', 'name']);
    expect(r).toMatchObject({ code: 0, stdout: `restore/${succeeded.name}\n` });
  });

  it('list with nothing says so on stderr, like kubectl', async () => {
    mocked.listRestores.mockResolvedValue([]);
    const r = await run(['list']);
    expect(r).toMatchObject({
      code: 0,
      stdout: '',
      stderr: 'No restores found in team-a namespace.\n',
    });
  });

  it('wait --for=Restoring returns once the restore is restoring', async () => {
    mocked.watchRestore.mockImplementation(
      statuses(
        { ...restoring, phase: 'Planning', progress: undefined },
        restoring,
        succeeded,
      ),
    );
    const r = await run(['wait', 'restore-data-1a2b3c4d', '--for=Restoring']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      'restore/restore-data-1a2b3c4d Restoring: 1,204/3,000 objects, 1.20 GiB/3.00 GiB (39%), 55.0 MiB/s, ETA 33s\n',
    );
  });

  it('wait --timeout exits 6 and says the restore goes on', async () => {
    mocked.watchRestore.mockImplementation(
      async function* watch(_c, _n, _name, options) {
        yield restoring;
        await new Promise(resolve =>
          options?.signal?.addEventListener('abort', resolve),
        );
      },
    );
    const r = await run(['wait', 'restore-data-1a2b3c4d', '--timeout', '50ms']);
    expect(r.code).toBe(6);
    expect(r.stderr).toContain(
      'error: timed out after 0s waiting for restore restore-data-1a2b3c4d to reach Succeeded (now Restoring); it goes on: see kubectl restore status restore-data-1a2b3c4d -n team-a\n',
    );
  });

  it('wait refuses an unknown phase', async () => {
    const r = await run(['wait', 'x', '--for=Done']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'error: invalid --for "Done": must be one of Planning, Thawing, Restoring, Verifying, Succeeded, Failed\n',
    );
  });

  it('delete keeps the PVC unless --keep-pvc=false', async () => {
    mocked.deleteRestore
      .mockResolvedValueOnce({ job: 'a' })
      .mockResolvedValueOnce({ job: 'b', pvc: 'data' });
    expect((await run(['delete', 'a'])).stdout).toBe('restore/a deleted\n');
    expect(mocked.deleteRestore).toHaveBeenLastCalledWith(
      expect.anything(),
      'team-a',
      'a',
      { deletePvc: false },
    );
    expect((await run(['delete', 'b', '--keep-pvc=false'])).stdout).toBe(
      'restore/b deleted (and persistentvolumeclaim/data)\n',
    );
    expect(mocked.deleteRestore).toHaveBeenLastCalledWith(
      expect.anything(),
      'team-a',
      'b',
      { deletePvc: true },
    );
  });

  it('logs renders the JSON lines for people; --raw prints them as they are', async () => {
    const log = [
      '{"type":"log","ts":"2026-11-21T11:58:06.120Z","level":"info","msg":"listing","bucket":"backups","prefix":"team-a/data/"}',
      '{"type":"progress","ts":"2026-11-21T11:58:07.000Z","phase":"Restoring","objectsDone":10,"objectsTotal":30,"objectsSkipped":0,"bytesDone":1048576,"bytesTotal":3145728,"bytesPerSecond":1048576,"etaSeconds":2}',
      '{"type":"log","ts":"2026-11-21T11:58:09.500Z","level":"error","msg":"access denied","key":"team-a/data/x"}',
      'not json at all',
      '',
    ].join('\n');
    mocked.restoreLogs.mockResolvedValue({ pod: 'p', log });
    expectGolden(
      'logs.txt',
      (await run(['logs', 'restore-data-1a2b3c4d'])).stdout,
    );
    expect((await run(['logs', 'restore-data-1a2b3c4d', '--raw'])).stdout).toBe(
      log,
    );
  });

  it('logs shows a key with controls as visible escapes', async () => {
    mocked.restoreLogs.mockResolvedValue({
      pod: 'p',
      log: '{"type":"log","ts":"2026-11-21T11:58:09.500Z","level":"error","msg":"access denied","key":"a\\u001b]52;c;eA==\\u0007"}\nplain \u001b[2J line\n',
    });
    const out = (await run(['logs', 'restore-data-1a2b3c4d'])).stdout;
    expect(out).not.toContain('\x1b');
    expect(out).toContain('a\\x1b]52;c;eA==\\x07');
    expect(out).toContain('plain \\x1b[2J line');
  });
});

describe('version and help', () => {
  it('version needs no cluster', async () => {
    const r = await run(['version', '-o', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ version: '0.1.0' });
    expect(mocked.loadKubeConfig).not.toHaveBeenCalled();
  });

  it('an unknown command is one line and exit 2', async () => {
    const r = await run(['restorify']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
