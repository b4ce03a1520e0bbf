/** Shell completion through `main`, as kubectl_complete-restore runs it: commands, flags and their values from the tables. */
import * as core from '@kube-restore/core';
import { main } from './cli';
import { COMMAND_SPECS } from './commandSpecs';
import { CREATE_FLAGS } from './flags';
import { bufferIo } from './io';
import { restoring, succeeded } from './__testUtils__/fixtures';

jest.mock('@kube-restore/core', () => ({
  ...jest.requireActual('@kube-restore/core'),
  loadKubeConfig: jest.fn(() => ({ fake: 'kubeconfig' })),
  applyRequestTimeout: jest.fn(),
  createKubeClients: jest.fn(() => ({ fake: 'clients' })),
  resolveNamespace: jest.fn(
    (_kc: unknown, explicit?: string) => explicit ?? 'team-a',
  ),
  currentUserName: jest.fn(() => 'alice'),
  listRestores: jest.fn(),
}));
const mocked = core as jest.Mocked<typeof core>;

async function complete(...words: string[]) {
  const b = bufferIo();
  const code = await main(['__complete', ...words], b.io);
  expect(code).toBe(0);
  const lines = b.stdout().trimEnd().split('\n');
  expect(lines.pop()).toBe(':4');
  return lines;
}

describe('completion', () => {
  it('offers the commands and their aliases, not the hidden ones', async () => {
    expect(await complete('')).toEqual(
      COMMAND_SPECS.filter(c => c.describe !== false).flatMap(c => c.names),
    );
    expect(await complete('st')).toEqual(['status']);
  });

  it("offers a command's flags, even those yargs would take for its own", async () => {
    expect(await complete('create', '--fr')).toEqual(['--from']);
    const all = await complete('create', '--');
    for (const flag of Object.keys(CREATE_FLAGS))
      expect(all).toContain(`--${flag}`);
    expect(all).toContain('--namespace');
    expect(await complete('logs', '--f')).toEqual(['--follow']);
  });

  it('offers the values a flag takes, after it or after =', async () => {
    expect(await complete('create', '--format', '')).toEqual([
      'objects',
      'tar',
      'auto',
    ]);
    expect(await complete('create', '--conflict=s')).toEqual([
      '--conflict=skip-existing',
    ]);
    expect(await complete('create', '--from', '')).toEqual([]);
  });

  it('offers the restores of the namespace for a command that takes one', async () => {
    mocked.listRestores.mockResolvedValue([restoring, succeeded]);
    expect(await complete('status', '-n', 'team-b', 'restore-d')).toEqual([
      'restore-data-1a2b3c4d',
      'restore-db-9f8e7d6c',
    ]);
    expect(mocked.listRestores).toHaveBeenCalledWith(expect.anything(), {
      namespace: 'team-b',
    });
  });
});
