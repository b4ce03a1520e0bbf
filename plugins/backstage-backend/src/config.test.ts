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

  it('serviceAccess: defaults to nothing; a writer is a service subject with the owners it acts for', () => {
    expect(read(valid)().serviceAccess).toEqual({ read: false, write: [] });
    expect(
      read({
        ...valid,
        serviceAccess: {
          write: [
            { subject: 'external:ci-bot', owners: ['Group:default/Team-A'] },
          ],
        },
      })().serviceAccess.write,
    ).toEqual([
      { subject: 'external:ci-bot', owners: ['group:default/team-a'] },
    ]);
    expect(
      read({
        ...valid,
        serviceAccess: {
          write: [
            { subject: 'user:default/alice', owners: ['group:default/a'] },
          ],
        },
      }),
    ).toThrow(
      'kubeRestore.serviceAccess.write[0].subject: must be a service subject such as external:release-bot or plugin:scaffolder',
    );
  });

  it('serviceAccess.write: the old plain-subject form is refused, showing the new one', () => {
    expect(
      read({ ...valid, serviceAccess: { write: ['external:release-bot'] } }),
    ).toThrow(
      "kubeRestore.serviceAccess.write[0]: a plain subject is no longer accepted (it let the service act for every entity): name the catalog owners it acts for, e.g. { subject: 'external:release-bot', owners: ['group:default/team-a'] }",
    );
  });

  it('serviceAccess.write: owners are required, are owner refs, and a subject is listed once', () => {
    expect(
      read({
        ...valid,
        serviceAccess: { write: [{ subject: 'external:ci-bot' }] },
      }),
    ).toThrow('kubeRestore.serviceAccess.write[0].owners: is required');
    expect(
      read({
        ...valid,
        serviceAccess: { write: [{ subject: 'external:ci-bot', owners: [] }] },
      }),
    ).toThrow(
      'kubeRestore.serviceAccess.write[0].owners: name at least one owner',
    );
    expect(
      read({
        ...valid,
        serviceAccess: {
          write: [{ subject: 'external:ci-bot', owners: ['team-a'] }],
        },
      }),
    ).toThrow(
      'kubeRestore.serviceAccess.write[0].owners[0]: must be an owner entity ref such as group:default/team-a',
    );
    expect(
      read({
        ...valid,
        serviceAccess: {
          write: [
            { subject: 'external:ci-bot', owners: ['group:default/a'] },
            { subject: 'external:ci-bot', owners: ['group:default/b'] },
          ],
        },
      }),
    ).toThrow(
      'kubeRestore.serviceAccess.write[1].subject: "external:ci-bot" is listed twice',
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
