/**
 * loadKubeConfig, resolveNamespace and currentUserName on real kubeconfig files in a temporary
 * directory, read by client-node as kubectl's would be.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { RestoreError } from './errors';
import {
  currentUserName,
  loadKubeConfig,
  resolveNamespace,
} from './kubeconfig';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'kr-kubeconfig-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function kubeconfig(
  file: string,
  clusters: string[],
  contexts: Array<{ name: string; cluster: string; namespace?: string }>,
  current?: string,
  user = 'alice',
): string {
  const full = path.join(dir, file);
  writeFileSync(
    full,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: clusters.map(name => ({
        name,
        cluster: { server: `https://${name}.example:6443` },
      })),
      users: [{ name: user, user: { token: 't' } }],
      contexts: contexts.map(c => ({
        name: c.name,
        context: { cluster: c.cluster, user, namespace: c.namespace },
      })),
      'current-context': current,
    }),
  );
  return full;
}

describe('loadKubeConfig', () => {
  it('reads a file and uses its current context, or the one asked for', () => {
    const file = kubeconfig(
      'config',
      ['prod', 'dev'],
      [
        { name: 'prod', cluster: 'prod' },
        { name: 'dev', cluster: 'dev', namespace: 'team-a' },
      ],
      'prod',
    );
    expect(
      loadKubeConfig({ kubeconfig: file }).getCurrentCluster()?.server,
    ).toBe('https://prod.example:6443');
    const dev = loadKubeConfig({ kubeconfig: file, context: 'dev' });
    expect(dev.getCurrentCluster()?.server).toBe('https://dev.example:6443');
    expect(resolveNamespace(dev)).toBe('team-a');
    expect(currentUserName(dev)).toBe('alice');
  });

  it('names the contexts it knows when the one asked for is not there', () => {
    const file = kubeconfig(
      'config',
      ['prod'],
      [
        { name: 'prod', cluster: 'prod' },
        { name: 'staging', cluster: 'prod' },
      ],
      'prod',
    );
    expect(() => loadKubeConfig({ kubeconfig: file, context: 'dev' })).toThrow(
      new RestoreError(
        'Invalid',
        'context "dev" is not in the kubeconfig (known: prod, staging)',
      ),
    );
  });

  it('a missing or unreadable file, or one without a cluster, is Invalid saying so', () => {
    const missing = path.join(dir, 'nope');
    expect(() => loadKubeConfig({ kubeconfig: missing })).toThrow(
      `kubeconfig ${missing} does not exist`,
    );
    const broken = path.join(dir, 'broken');
    writeFileSync(broken, 'clusters: [');
    expect(() => loadKubeConfig({ kubeconfig: broken })).toThrow(
      /^cannot load the kubeconfig: /,
    );
    const empty = kubeconfig('empty', [], []);
    expect(() => loadKubeConfig({ kubeconfig: empty })).toThrow(
      'no cluster is configured: set --kubeconfig, $KUBECONFIG or ~/.kube/config, or run in a pod',
    );
  });

  it('merges the files of $KUBECONFIG, the first current-context winning', () => {
    const a = kubeconfig(
      'a',
      ['one'],
      [{ name: 'one', cluster: 'one' }],
      'one',
    );
    const b = kubeconfig(
      'b',
      ['two'],
      [{ name: 'two', cluster: 'two', namespace: 'team-b' }],
      'two',
      'bob', // client-node refuses a user named in two files (kubectl takes the first)
    );
    const saved = process.env.KUBECONFIG;
    process.env.KUBECONFIG = `${a}${path.delimiter}${b}`;
    try {
      const kc = loadKubeConfig();
      expect(kc.getCurrentContext()).toBe('one');
      expect(kc.getContexts().map(c => c.name)).toEqual(['one', 'two']);
      expect(resolveNamespace(loadKubeConfig({ context: 'two' }))).toBe(
        'team-b',
      );
    } finally {
      if (saved === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = saved;
    }
  });
});

describe('resolveNamespace', () => {
  it('-n first, then the context, then default', () => {
    const file = kubeconfig(
      'config',
      ['c'],
      [
        { name: 'with', cluster: 'c', namespace: 'team-a' },
        { name: 'without', cluster: 'c' },
      ],
      'with',
    );
    const kc = loadKubeConfig({ kubeconfig: file });
    expect(resolveNamespace(kc, 'explicit')).toBe('explicit');
    expect(resolveNamespace(kc)).toBe('team-a');
    kc.setCurrentContext('without');
    expect(resolveNamespace(kc)).toBe('default');
  });
});
