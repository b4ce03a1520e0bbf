/*
 * `kubectl restore create --declarative` on the real harness cluster (test/cluster: real apiserver, PV
 * binder, scheduler, kubelets, the `local` StorageClass with WaitForFirstConsumer, MinIO): what it
 * prints, applied with a plain `kubectl apply -f`, is the whole restore; while it runs, list, status
 * and describe show it as the populator's, for the user's PVC. alice (an `edit` user) applies it:
 * deploy/populator/aggregate-to-edit.yaml folds RestoreSources into `edit`. The populator runs in-process as its
 * ServiceAccount with the RBAC of deploy/populator, as in
 * packages/restore-populator/src/populator.cluster.test.ts.
 */
import {
  installPopulator,
  kubectlAs,
  Kubectl,
  seedBucket,
  startPopulator,
  TestPopulator,
  yamlDocs,
} from '@kube-restore/populator/src/__testUtils__/cluster';
import {
  Cluster,
  restrictedPodSpec,
  startCluster,
  waitUntil,
} from '@kube-restore/test-cluster';
import { main } from './cli';
import { bufferIo } from './io';

const NS = 'team-a';
jest.setTimeout(600_000);

describe('create --declarative on real nodes', () => {
  let cluster: Cluster;
  let admin: Kubectl;
  let alice: Kubectl;
  let populator: TestPopulator;

  /** `kubectl restore ...` in-process as alice, with the MinIO keys in the environment. */
  const kubectlRestore = async (args: string[]) => {
    const b = bufferIo({
      env: {
        AWS_ACCESS_KEY_ID: cluster.s3!.accessKeyId,
        AWS_SECRET_ACCESS_KEY: cluster.s3!.secretAccessKey,
      },
    });
    const code = await main(
      [...args, '--kubeconfig', cluster.kubeconfig.alice, '-n', NS],
      b.io,
    );
    return { code, stdout: b.stdout(), stderr: b.stderr() };
  };
  const getJson = async (...args: string[]) =>
    JSON.parse(await admin(['get', ...args, '-n', NS, '-o', 'json']));

  beforeAll(async () => {
    cluster = await startCluster();
    admin = kubectlAs(cluster, cluster.kubeconfig.admin);
    alice = kubectlAs(cluster, cluster.kubeconfig.alice);
    const clients = await installPopulator(cluster, admin, NS);
    // 1 MiB at --bandwidth 64Ki: the restore runs long enough to be listed
    await seedBucket(cluster, 'decl-data', {
      'set/hello.txt': 'hello from s3\n',
      'set/big.bin': Buffer.alloc(1 << 20, 7),
    });
    populator = startPopulator(clients);
  });

  afterAll(async () => {
    await populator?.stop();
    await cluster?.stop();
  });

  it('the printed YAML, applied with plain kubectl apply, fills a PVC that a pod then reads', async () => {
    const printed = await kubectlRestore([
      'create',
      'seed',
      '--from',
      `${cluster.s3!.endpoint}/decl-data/set/`,
      '--to',
      'pvc/data',
      '--size',
      '1Gi',
      '--storage-class',
      'local',
      '--backoff-limit',
      '0',
      '--bandwidth',
      '64Ki',
      '--credentials-from-env',
      '--print-secret',
      '--declarative',
      '-o',
      'yaml',
    ]);
    expect(printed.stderr).toContain('keep it out of Git unless encrypted');
    expect(printed.code).toBe(0);
    // printing created nothing
    expect(
      (
        await admin(['get', 'pvc,restoresources', '-n', NS, '-o', 'name'])
      ).trim(),
    ).toBe('');

    // as alice, an `edit` user: the aggregation controller folds RestoreSources into `edit`
    await waitUntil(
      'alice may create RestoreSources',
      async () =>
        (
          await alice([
            'auth',
            'can-i',
            'create',
            'restoresources.kube-restore.io',
            '-n',
            NS,
          ]).catch(() => 'no')
        ).trim() === 'yes',
      60_000,
      500,
    );
    await alice(['apply', '-f', '-'], printed.stdout);
    await alice(
      ['apply', '-f', '-'],
      yamlDocs({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'reader', namespace: NS },
        spec: restrictedPodSpec({ stub: ['--cat', 'hello.txt'], pvc: 'data' }),
      }),
    );
    // while it runs: list, status and describe show the populator's restore for the user's PVC
    const listed = await waitUntil(
      'the populator restore listed',
      async () => {
        const r = await kubectlRestore(['list', '-o', 'json']);
        return JSON.parse(r.stdout).items.find(
          (i: any) => i.populator?.pvc === 'data',
        );
      },
      180_000,
      1000,
    );
    expect(listed).toMatchObject({
      name: expect.stringMatching(/^prime-/),
      populator: { pvc: 'data', restoreSource: 'seed' },
    });
    const table = (await kubectlRestore(['list'])).stdout;
    expect(table).toMatch(/^NAME\s+PHASE\s+PVC\s+VIA\s+PROGRESS\s+AGE$/m);
    expect(table).toMatch(
      new RegExp(`^${listed.name}\\s+\\w+\\s+data\\s+populator\\s`, 'm'),
    );
    const status = (await kubectlRestore(['status', listed.name])).stdout;
    expect(status).toContain(
      `PVC:          data (filled through prime PVC ${listed.name})\n`,
    );
    expect(status).toContain('Via:          populator, RestoreSource seed\n');
    // describe also shows the populator's events on the user's PVC
    const describedText = (await kubectlRestore(['describe', listed.name]))
      .stdout;
    expect(describedText).toMatch(
      /Normal\s+RestoreStarted\s+\S+\s+persistentvolumeclaim\/data\s/,
    );
    const described = await kubectlRestore([
      'describe',
      listed.name,
      '-o',
      'json',
    ]);
    expect(JSON.parse(described.stdout).populator).toEqual({
      pvc: 'data',
      restoreSource: 'seed',
    });

    const pod = await waitUntil(
      'the reader pod to end',
      async () => {
        const p = await getJson('pod', 'reader');
        return ['Succeeded', 'Failed'].includes(p.status.phase) ? p : undefined;
      },
      240_000,
      1000,
    );
    expect(await admin(['logs', 'reader', '-n', NS])).toContain(
      'hello from s3',
    );
    expect(pod.status.phase).toBe('Succeeded');
    const source = await getJson('restoresource', 'seed');
    expect(source.status.pvcs).toEqual([
      expect.objectContaining({ pvc: 'data', state: 'Succeeded' }),
    ]);
    // the Secret it printed holds the keys the restore used
    const secret = await getJson('secret', 'seed-credentials');
    expect(
      Buffer.from(secret.data.AWS_ACCESS_KEY_ID, 'base64').toString(),
    ).toBe(cluster.s3!.accessKeyId);

    // finished: the populator removed its Job and prime PVC; list still shows the restore, from the
    // RestoreSource's status (the durable record)
    await waitUntil(
      'the Job and prime PVC gone',
      async () =>
        (
          await admin([
            'get',
            'job,pvc',
            listed.name,
            '-n',
            NS,
            '--ignore-not-found',
            '-o',
            'name',
          ])
        ).trim() === '',
      60_000,
      500,
    );
    const finished = JSON.parse(
      (await kubectlRestore(['list', '-o', 'json'])).stdout,
    ).items.find((i: any) => i.name === listed.name);
    expect(finished).toMatchObject({
      phase: 'Succeeded',
      populator: { pvc: 'data', restoreSource: 'seed' },
    });
    expect((await kubectlRestore(['list'])).stdout).toMatch(
      new RegExp(
        `^${listed.name}\\s+Succeeded\\s+data\\s+populator\\s+100%`,
        'm',
      ),
    );
    const finishedStatus = await kubectlRestore(['status', listed.name]);
    expect(finishedStatus.code).toBe(0);
    expect(finishedStatus.stdout).toMatch(/^Phase:\s+Succeeded$/m);
    expect(finishedStatus.stdout).toContain(
      'Via:          populator, RestoreSource seed\n',
    );
    // describe of the finished restore: the populator's events on the user's PVC, to the end
    const finishedDescribe = await kubectlRestore(['describe', listed.name]);
    expect(finishedDescribe.code).toBe(0);
    for (const reason of ['RestoreStarted', 'RestoreFinished'])
      expect(finishedDescribe.stdout).toMatch(
        new RegExp(
          `Normal\\s+${reason}\\s+\\S+\\s+persistentvolumeclaim/data\\s`,
        ),
      );
  });
});
