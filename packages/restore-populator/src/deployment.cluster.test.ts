/*
 * deploy/populator as a cluster admin applies it (`kubectl apply -k`), on the real harness nodes: the
 * populator image (`npm run image`) in a restricted pod, two replicas with leader election on a
 * Lease, its health and metrics endpoints, a PVC populated by it, a source too big for its PVC
 * refused, and a standby taking over when the leader's pod is deleted.
 */
import {
  POPULATOR_IMAGE,
  restrictedPodSpec,
  startCluster,
  Cluster,
  waitUntil,
} from '@kube-restore/test-cluster';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import {
  applyGuardrails,
  createKeysSecret,
  populatedPvc,
  restoreSourceManifest,
  POPULATOR_DEPLOY,
  Kubectl,
  kubectlAs,
  seedBucket,
  waitForGuardrails,
  yamlDocs,
} from './__testUtils__/cluster';
import {
  applyPopulatorDeployment,
  forwardApiServer,
  Forwarder,
} from './__testUtils__/deployment';

const NS = 'team-a';
const SYSTEM_NS = 'kube-restore';
const LEASE = 'kube-restore-populator';
const SELECTOR = 'app.kubernetes.io/component=populator';
jest.setTimeout(600_000);

describe('deploy/populator on real nodes', () => {
  let cluster: Cluster;
  let kubectl: Kubectl;
  let api: Forwarder;
  let overlay: string;

  const getJson = async (...args: string[]) =>
    JSON.parse(await kubectl(['get', ...args, '-o', 'json']));
  const exists = async (...args: string[]) =>
    (
      await kubectl(['get', ...args, '--ignore-not-found', '-o', 'name'])
    ).trim() !== '';
  const pvcEvents = async (pvc: string) =>
    (
      await getJson(
        'events',
        '-n',
        NS,
        '--field-selector',
        `involvedObject.name=${pvc},involvedObject.kind=PersistentVolumeClaim`,
      )
    ).items as { reason: string; message: string; type: string }[];
  const populatorPods = async () =>
    (await getJson('pods', '-n', SYSTEM_NS, '-l', SELECTOR)).items as any[];
  /** The Lease's transitions when the suite first saw a holder. */
  let transitionsAtStart = 0;
  const holder = async () =>
    (await getJson('lease', LEASE, '-n', SYSTEM_NS)).spec as {
      holderIdentity?: string;
      leaseTransitions?: number;
    };
  const isReady = (pod: any) =>
    !pod.metadata.deletionTimestamp &&
    pod.status?.conditions?.some(
      (c: any) => c.type === 'Ready' && c.status === 'True',
    );
  // Through the API server's pod proxy, which can time out dialling a pod on a loaded machine:
  // three tries (a metrics endpoint that is down fails all three).
  const scrape = async (pod: string): Promise<string> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await kubectl([
          'get',
          '--raw',
          `/api/v1/namespaces/${SYSTEM_NS}/pods/${pod}:8080/proxy/metrics`,
        ]);
      } catch (error) {
        const transient = /ServiceUnavailable|i\/o timeout/.test(
          (error as Error).message,
        );
        if (!transient || attempt === 3) throw error;
        await new Promise(r => setTimeout(r, 2000));
      }
    }
  };
  const metric = (text: string, series: string) =>
    Number(
      new RegExp(`^${series.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(
        text,
      )?.[1] ?? NaN,
    );

  const populateAndRead = async (claim: string, source: string) => {
    await kubectl(
      ['apply', '-f', '-'],
      yamlDocs(populatedPvc(NS, claim, source), {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `${claim}-reader`, namespace: NS },
        spec: restrictedPodSpec({ stub: ['--cat', 'hello.txt'], pvc: claim }),
      }),
    );
    const pod = await waitUntil(
      `the reader of ${claim} to end`,
      async () => {
        const p = await getJson('pod', `${claim}-reader`, '-n', NS);
        return ['Succeeded', 'Failed'].includes(p.status.phase) ? p : undefined;
      },
      240_000,
      1000,
    );
    expect(await kubectl(['logs', `${claim}-reader`, '-n', NS])).toContain(
      'hello from s3',
    );
    expect(pod.status.phase).toBe('Succeeded');
  };

  beforeAll(async () => {
    cluster = await startCluster();
    kubectl = kubectlAs(cluster, cluster.kubeconfig.admin);
    api = await forwardApiServer(cluster);
    // the populator's writes pass deploy/policy's guardrails, as they do in a real install
    await applyGuardrails(kubectl);
    overlay = await applyPopulatorDeployment(kubectl, api);
    await waitForGuardrails(kubectl);
    await kubectl([
      'apply',
      '-k',
      path.join(POPULATOR_DEPLOY, 'opt-in'),
      '-n',
      NS,
    ]);
    await seedBucket(cluster, 'dep-data', {
      'set/hello.txt': 'hello from s3\n',
    });
    await seedBucket(cluster, 'dep-big', {
      'set/hello.txt': 'big\n',
      'set/big.bin': Buffer.alloc(4 << 20, 7),
    });
    await createKeysSecret(cluster, kubectl, NS);
    await kubectl(
      ['apply', '-f', '-'],
      yamlDocs(
        restoreSourceManifest(NS, 'seed', cluster.s3!.endpoint, 'dep-data'),
        restoreSourceManifest(NS, 'big', cluster.s3!.endpoint, 'dep-big'),
      ),
    );
    await kubectl([
      'rollout',
      'status',
      'deployment/restore-populator',
      '-n',
      SYSTEM_NS,
      '--timeout=240s',
    ]);
  });

  afterAll(async () => {
    // KUBE_RESTORE_POPULATOR_LOG=1: the replicas' logs, for a failing run
    if (process.env.KUBE_RESTORE_POPULATOR_LOG === '1' && kubectl)
      process.stderr.write(
        await kubectl([
          'logs',
          '-n',
          SYSTEM_NS,
          '-l',
          SELECTOR,
          '--prefix',
          '--tail=200',
        ]).catch(e => String(e)),
      );
    await api?.close();
    if (overlay) await fsp.rm(overlay, { recursive: true, force: true });
    await cluster?.stop();
  });

  it('runs the populator image in a restricted pod: two ready replicas, one holds the Lease', async () => {
    const pods = await waitUntil(
      'two ready populator pods',
      async () => {
        const ready = (await populatorPods()).filter(isReady);
        return ready.length === 2 ? ready : undefined;
      },
      120_000,
      1000,
    );
    for (const pod of pods) {
      const [container] = pod.spec.containers;
      expect(container.image).toBe(POPULATOR_IMAGE);
      expect(container.securityContext).toMatchObject({
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
      });
      expect(container.resources.limits).toMatchObject({ memory: '256Mi' });
      expect(pod.spec.securityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: 65532,
      });
      expect(container.readinessProbe.httpGet.path).toBe('/readyz');
      expect(container.livenessProbe.httpGet.path).toBe('/healthz');
      expect(pod.status.containerStatuses[0].restartCount).toBe(0);
    }
    const lease = await waitUntil('a Lease holder', async () => {
      const spec = await holder().catch(() => undefined);
      return spec?.holderIdentity ? spec : undefined;
    });
    expect(pods.map(p => p.metadata.name)).toContain(lease.holderIdentity);
    transitionsAtStart = lease.leaseTransitions ?? 0;
    const leader = lease.holderIdentity!;
    const standby = pods.find(p => p.metadata.name !== leader).metadata.name;
    const logs = await kubectl(['logs', leader, '-n', SYSTEM_NS]);
    expect(logs).toContain(`leading (Lease ${SYSTEM_NS}/${LEASE})`);
    expect(logs).not.toContain('DeprecationWarning');
    expect(metric(await scrape(leader), 'kube_restore_populator_leader')).toBe(
      1,
    );
    expect(metric(await scrape(standby), 'kube_restore_populator_leader')).toBe(
      0,
    );
  });

  it('populates a PVC whose dataSourceRef names a RestoreSource: the pod that mounts it reads the data', async () => {
    await populateAndRead('data', 'seed');
    const reasons = (await pvcEvents('data')).map(e => e.reason);
    expect(reasons).toEqual(
      expect.arrayContaining(['RestoreStarted', 'RestoreFinished']),
    );
  });

  it('refuses a source too big for the PVC with an event naming both sizes, and makes nothing for it', async () => {
    const small = populatedPvc(NS, 'small', 'big');
    small.spec.resources.requests.storage = '1Mi';
    await kubectl(
      ['apply', '-f', '-'],
      yamlDocs(small, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'small-reader', namespace: NS },
        spec: restrictedPodSpec({ stub: ['--cat', 'hello.txt'], pvc: 'small' }),
      }),
    );
    const refused = await waitUntil(
      'a SourceTooBig event',
      async () =>
        (await pvcEvents('small')).find(e => e.reason === 'SourceTooBig'),
      120_000,
      1000,
    );
    expect(refused.type).toBe('Warning');
    expect(refused.message).toMatch(
      /^SOURCE_TOO_BIG: the source needs 4\.\d+ MiB on disk \(2 object\(s\); a PVC of 1Gi would do\) but PVC small requests 1Mi \(1\.0+ MiB\)/,
    );
    const uid = (await getJson('pvc', 'small', '-n', NS)).metadata.uid;
    expect(await exists('pvc', `prime-${uid}`, '-n', NS)).toBe(false);
    expect(await exists('job', `prime-${uid}`, '-n', NS)).toBe(false);
    const status = (await getJson('restoresource', 'big', '-n', NS)).status;
    expect(status.pvcs).toEqual([
      expect.objectContaining({
        pvc: 'small',
        state: 'Failed',
        code: 'SOURCE_TOO_BIG',
      }),
    ]);
  });

  it('serves /metrics: restores started, succeeded and failed by code, reconciles, in flight', async () => {
    const lease = await holder();
    const leader = lease.holderIdentity!;
    const pods = await populatorPods();
    const restarts = pods.map(
      p =>
        `${p.metadata.name}: ${(p.status?.containerStatuses ?? []).reduce((n: number, c: any) => n + (c.restartCount ?? 0), 0)} restart(s)`,
    );
    const texts = await Promise.all(pods.map(p => scrape(p.metadata.name)));
    // Counted over every replica: on a loaded machine the Lease may change hands between the
    // PVCs above and this scrape, and then each replica holds part of the counts.
    const total = (series: string) =>
      texts.reduce((sum, text) => sum + (metric(text, series) || 0), 0);
    const context = `Lease held by ${leader} after ${lease.leaseTransitions ?? 0} transition(s); ${restarts.join(', ')}`;
    const counts = {
      started: total('kube_restore_populator_restores_started_total'),
      succeeded: total('kube_restore_populator_restores_succeeded_total'),
      tooBig: total(
        'kube_restore_populator_restores_failed_total{code="SOURCE_TOO_BIG"}',
      ),
    };
    const counted = Object.values(counts).every(n => n >= 1);
    expect({ context, counts, counted }).toEqual({
      context,
      counts,
      counted: true,
    });
    const text = await scrape(leader);
    expect(
      metric(text, 'kube_restore_populator_reconciles_total{result="ok"}'),
    ).toBeGreaterThan(0);
    for (const t of texts)
      expect(metric(t, 'kube_restore_populator_restores_in_flight')).toBe(0);
    // prom-client's process metrics come along
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
    // the standby watches but has reconciled nothing, as long as the Lease never changed hands:
    // one replica reconciles at a time
    if ((lease.leaseTransitions ?? 0) !== transitionsAtStart) {
      console.warn(
        `the Lease changed hands during the suite (${context}): the standby's own counts are not checked`,
      );
      return;
    }
    const standby = pods.find(p => p.metadata.name !== leader).metadata.name;
    const idle = await scrape(standby);
    expect(metric(idle, 'kube_restore_populator_leader')).toBe(0);
    expect(
      metric(idle, 'kube_restore_populator_reconciles_total{result="ok"}'),
    ).toBe(0);
    expect(metric(idle, 'kube_restore_populator_restores_started_total')).toBe(
      0,
    );
  });

  it("the leader's pod deleted: another replica takes the Lease over and populates the next PVC", async () => {
    const before = await holder();
    const leader = before.holderIdentity!;
    const deleted = Date.now();
    await kubectl(['delete', 'pod', leader, '-n', SYSTEM_NS, '--wait=false']);
    // The standby usually wins; the Deployment's replacement pod races it for the Lease the
    // stopped leader gave back, and may win too. Either way a live replica other than the old
    // leader holds it, well before the 15 s lease would have run out.
    const after = await waitUntil(
      'another replica holding the Lease',
      async () => {
        const spec = await holder();
        return spec.holderIdentity && spec.holderIdentity !== leader
          ? spec
          : undefined;
      },
      60_000,
      250,
    );
    const takeoverMs = Date.now() - deleted;
    const standby = after.holderIdentity!;
    expect((await populatorPods()).map(p => p.metadata.name)).toContain(
      standby,
    );
    process.stderr.write(`populator takeover: ${takeoverMs} ms\n`);
    expect(after.leaseTransitions).toBeGreaterThan(
      before.leaseTransitions ?? 0,
    );
    // a stopped leader gives the Lease back: the standby need not wait out the 15 s lease
    expect(takeoverMs).toBeLessThan(15_000);
    expect(metric(await scrape(standby), 'kube_restore_populator_leader')).toBe(
      1,
    );
    await populateAndRead('after', 'seed');
    // two ready replicas again, and the Lease stays with the new leader
    await waitUntil(
      'two ready populator pods again',
      async () => (await populatorPods()).filter(isReady).length === 2,
      120_000,
      1000,
    );
    expect((await holder()).holderIdentity).toBe(standby);
  });
});
