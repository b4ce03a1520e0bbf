import { DatabaseService } from '@backstage/backend-plugin-api';
import { mockServices } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { parseRestoreRequest } from '@kube-restore/common';
import { readRestoreConfig } from '../config';
import { sqliteFile } from '../__testUtils__/fakes';
import { RestorePolicy } from './policy';
import { RestoreRecord, RestoreStore } from './RestoreStore';

const policy = new RestorePolicy(
  readRestoreConfig(
    new ConfigReader({
      kubeRestore: {
        clusters: [{ name: 'c', url: 'https://k8s', serviceAccountToken: 't' }],
        sources: [{ name: 's', bucket: 'backups', prefix: '${namespace}/' }],
        limits: { concurrentRestoresPerNamespace: 2 },
      },
    }),
  ),
  mockServices.userInfo(),
);

function record(i: number): RestoreRecord {
  const now = new Date().toISOString();
  return {
    id: `id-${i}`,
    entityRef: 'component:default/shop',
    cluster: 'c',
    namespace: 'team-a',
    name: `restore-${i}`,
    pvc: `p${i}`,
    sourceName: 's',
    source: 's3://backups/team-a/',
    requester: 'user:default/alice',
    phase: 'Pending',
    request: parseRestoreRequest({
      source: { bucket: 'backups', prefix: 'team-a/' },
      target: { namespace: 'team-a', pvc: `p${i}` },
    }),
    createdAt: now,
    updatedAt: now,
  };
}

describe('RestoreStore.exclusive', () => {
  const db = sqliteFile();
  afterAll(() => db.knex.destroy());

  it('20 parallel check-then-insert steps against a namespace limit of 2: exactly 2 inserted', async () => {
    // The plugin's own migrations on a real (SQLite) database, as RestoreStore.create runs them.
    const store = await RestoreStore.create({
      getClient: async () => db.knex,
    } as unknown as DatabaseService);
    const subject = {
      cluster: 'c',
      namespace: 'team-a',
      requester: 'user:default/alice',
    };
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        store.exclusive(async tx => {
          const problems = await policy.countProblems(tx, subject, undefined);
          if (problems.length) throw new Error(problems.join('; '));
          await tx.insert(record(i));
        }),
      ),
    );
    expect(results.filter(r => r.status === 'fulfilled')).toHaveLength(2);
    expect(
      (results.find(r => r.status === 'rejected') as PromiseRejectedResult)
        .reason.message,
    ).toMatch(/^2 restores are running in namespace team-a, the limit is 2/);
    expect(await store.list({ namespace: 'team-a' })).toHaveLength(2);
  });
});
