/**
 * `create --declarative` through `main`: the printed RestoreSource and PVC (golden), the Secret only
 * with --print-secret, and the flags that make no sense declaratively refused before anything is read.
 * That a plain `kubectl apply -f` of the output fills a PVC: declarative.cluster.test.ts.
 */
import * as core from '@kube-restore/core';
import { parse, parseAllDocuments } from 'yaml';
import { main } from './cli';
import { bufferIo } from './io';
import { NOW } from './__testUtils__/fixtures';
import { expectGolden } from './__testUtils__/golden';

jest.mock('@kube-restore/core', () => ({
  ...jest.requireActual('@kube-restore/core'),
  loadKubeConfig: jest.fn(() => ({ fake: 'kubeconfig' })),
  applyRequestTimeout: jest.fn(),
  createKubeClients: jest.fn(() => ({ fake: 'clients' })),
  resolveNamespace: jest.fn(
    (_kc: unknown, explicit?: string) => explicit ?? 'team-a',
  ),
  currentUserName: jest.fn(() => 'alice'),
  createRestore: jest.fn(),
  sizeSource: jest.fn(),
}));
const mocked = core as jest.Mocked<typeof core>;

const KEYS = {
  AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'very-secret',
};

async function run(args: string[], env: Record<string, string> = {}) {
  const b = bufferIo({ env, now: NOW });
  const code = await main(args, b.io);
  return { code, stdout: b.stdout(), stderr: b.stderr() };
}

const base = [
  'create',
  'seed',
  '--from',
  'https://minio.example.com:9000/backups/team-a/data/',
  '--to',
  'pvc/data',
  '--size',
  '10Gi',
  '--declarative',
];

beforeEach(() => jest.clearAllMocks());

describe('create --declarative', () => {
  it('prints the RestoreSource and the PVC naming it, and creates nothing', async () => {
    const r = await run([
      ...base,
      '--secret',
      's3-keys',
      '--storage-class',
      'local',
      '--uid',
      '1000',
      '-o',
      'yaml',
    ]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expectGolden('create-declarative.yaml', r.stdout);
    const docs = parseAllDocuments(r.stdout).map(d => d.toJS());
    expect(docs.map(d => d.kind)).toEqual([
      'RestoreSource',
      'PersistentVolumeClaim',
    ]);
    expect(docs[1].spec.dataSourceRef).toEqual({
      apiGroup: 'kube-restore.io',
      kind: 'RestoreSource',
      name: 'seed',
    });
    expect(mocked.createRestore).not.toHaveBeenCalled();
    expect(mocked.sizeSource).not.toHaveBeenCalled();
  });

  it('-o json is one List; without -o it is YAML', async () => {
    const json = JSON.parse((await run([...base, '-o', 'json'])).stdout);
    expect(json.kind).toBe('List');
    expect(json.items.map((i: { kind: string }) => i.kind)).toEqual([
      'RestoreSource',
      'PersistentVolumeClaim',
    ]);
    const yaml = (await run(base)).stdout;
    expect(parse(yaml.split('---\n')[0]).kind).toBe('RestoreSource');
  });

  it('prints the keys of --credentials-from-env only with --print-secret, Secret first', async () => {
    const refused = await run([...base, '--credentials-from-env'], KEYS);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('add --print-secret');
    expect(refused.stdout).toBe('');

    const r = await run(
      [...base, '--credentials-from-env', '--print-secret', '-o', 'json'],
      KEYS,
    );
    expect(r.code).toBe(0);
    const [secret, source] = JSON.parse(r.stdout).items;
    expect(secret).toMatchObject({
      kind: 'Secret',
      metadata: { name: 'seed-credentials', namespace: 'team-a' },
      stringData: KEYS,
    });
    expect(source.spec.credentials).toEqual({
      type: 'secret',
      secretName: 'seed-credentials',
    });
    expect(r.stderr).toContain('keep it out of Git unless encrypted');
  });

  it('sizes the source for --size auto, as create does', async () => {
    mocked.sizeSource.mockResolvedValue({
      objects: 3,
      bytes: 3 * 2 ** 30,
      recommendedSize: '4Gi',
      estimated: false,
    } as never);
    const r = await run([
      ...base.filter(a => a !== '10Gi' && a !== '--size'),
      '-o',
      'json',
    ]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).items[1].spec.resources.requests.storage).toBe(
      '4Gi',
    );
  });

  it.each([
    [
      ['--existing-pvc'],
      '--existing-pvc with --declarative: a populator fills only a new PVC',
    ],
    [['--dry-run=client'], '--dry-run with --declarative'],
    [['--wait'], '--wait with --declarative'],
    [['--image', 'x/y:z'], '--image with --declarative'],
    [['--print-secret'], '--print-secret needs --credentials-from-env'],
    [['-o', 'name'], 'unsupported output format "name"'],
    [['--size', '10XB'], 'invalid --size: invalid quantity "10XB"'],
  ])(
    'refuses %j with exit 2 before anything is read',
    async (extra, message) => {
      const args = [
        ...base.filter(
          a => !(extra[0] === '--size' && (a === '--size' || a === '10Gi')),
        ),
        ...extra,
      ];
      const r = await run(args, KEYS);
      expect(r.stderr).toContain(message);
      expect(r.code).toBe(2);
      expect(mocked.loadKubeConfig).not.toHaveBeenCalled();
      expect(mocked.sizeSource).not.toHaveBeenCalled();
    },
  );
});
