import { ConfigReader } from '@backstage/config';
import { fillTemplate, readRestoreConfig } from './config';

const valid = {
  clusters: [
    { name: 'prod', url: 'https://k8s:6443', serviceAccountToken: 'tok' },
  ],
  sources: [
    { name: 'nightly', bucket: 'backups', prefix: '${namespace}/${entity}/' },
  ],
};
const read = (kubeRestore: unknown) => () =>
  readRestoreConfig(new ConfigReader({ kubeRestore } as never));

describe('readRestoreConfig', () => {
  it('applies defaults to a minimal config', () => {
    const config = read(valid)();
    expect(config.sources[0]).toMatchObject({
      region: 'us-east-1',
      archiveTiers: [],
    });
    expect(config.approval.rules).toEqual([]);
  });

  it('fails naming the missing root key', () => {
    expect(() => readRestoreConfig(new ConfigReader({}))).toThrow(
      /'kubeRestore'/,
    );
  });

  it('fails naming a missing key inside an array', () => {
    expect(
      read({ ...valid, sources: [{ name: 'nightly', prefix: 'x/' }] }),
    ).toThrow('kubeRestore.sources[0].bucket: is required');
  });

  it('fails naming a token that is missing, without printing any secret', () => {
    const config = {
      ...valid,
      clusters: [{ name: 'prod', url: 'https://k8s' }],
      sources: [
        { ...valid.sources[0], credentials: { accessKeyId: 'AKIA-secret' } },
      ],
    };
    let message = '';
    try {
      read(config)();
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain(
      'kubeRestore.clusters[0].serviceAccountToken: is required',
    );
    expect(message).toContain(
      'kubeRestore.sources[0].credentials.secretAccessKey: is required together with the other key',
    );
    expect(message).not.toContain('AKIA-secret');
  });

  it('fails on a template variable it does not know and a prefix without a trailing slash', () => {
    expect(
      read({
        ...valid,
        sources: [{ name: 'n', bucket: 'backups', prefix: '${team}/data' }],
      }),
    ).toThrow(
      /kubeRestore\.sources\[0\]\.prefix: must end with "\/".*kubeRestore\.sources\[0\]\.prefix: unknown variable \$\{team\}/,
    );
  });

  it('fails on a default cluster or exists source that is not configured', () => {
    expect(read({ ...valid, defaultCluster: 'staging' })).toThrow(
      /kubeRestore\.defaultCluster: must name a configured cluster \(prod\)/,
    );
    expect(
      read({
        ...valid,
        exists: { source: 'weekly', template: '${namespace}/${pvc}/' },
      }),
    ).toThrow(/kubeRestore\.exists\.source/);
  });
});

describe('fillTemplate', () => {
  it('fills variables and refuses a value that is not one path segment', () => {
    expect(
      fillTemplate('${namespace}/${entity}/', {
        namespace: 'team-a',
        entity: 'shop',
      }),
    ).toBe('team-a/shop/');
    expect(() => fillTemplate('${entity}/', { entity: '../x' })).toThrow(
      /not a single path segment/,
    );
  });

  it('serviceAccess: defaults to nothing; a write subject must be a service subject', () => {
    expect(read(valid)().serviceAccess).toEqual({ read: false, write: [] });
    expect(
      read({ ...valid, serviceAccess: { write: ['user:default/alice'] } }),
    ).toThrow(
      'kubeRestore.serviceAccess.write[0]: must be a service subject such as external:release-bot or plugin:scaffolder',
    );
  });

  it.each(['${entity}/', 'data/', '${kind}/${entity}/'])(
    'refuses a source prefix %s that does not pin the target, naming the key',
    prefix => {
      expect(
        read({ ...valid, sources: [{ name: 'n', bucket: 'backups', prefix }] }),
      ).toThrow(
        `kubeRestore.sources[0].prefix: "${prefix}" does not pin the target`,
      );
    },
  );

  it.each([
    '${namespace}/',
    'teams/${namespace}/${entity}/',
    '${entityNamespace}/${kind}/${entity}/',
  ])('accepts a source prefix %s that pins the target', prefix => {
    expect(
      read({ ...valid, sources: [{ name: 'n', bucket: 'backups', prefix }] })()
        .sources[0].shared,
    ).toBe(false);
  });

  it('a prefix that does not pin the target is accepted on a source marked shared', () => {
    const config = read({
      ...valid,
      sources: [
        { name: 'demo', bucket: 'datasets', prefix: 'demo/', shared: true },
      ],
    })();
    expect(config.sources[0]).toMatchObject({ prefix: 'demo/', shared: true });
  });

  it('ownership: nothing by default; ranges must be ordered', () => {
    expect(read(valid)().ownership).toEqual({ modes: false });
    expect(
      read({ ...valid, ownership: { uid: { min: 2000, max: 1000 } } }),
    ).toThrow('kubeRestore.ownership.uid: min must not be above max');
  });
});
