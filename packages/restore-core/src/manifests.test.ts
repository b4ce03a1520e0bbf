import {
  expectedText,
  parseRestoreRequest,
  RestoreRequestInput,
} from '@kube-restore/common';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import {
  buildRestoreManifests,
  BuildOptions,
  RestoreManifests,
} from './manifests';
import { ManifestError } from './manifestError';

const GOLDEN_DIR = join(__dirname, '__golden__');

function toYaml(m: RestoreManifests): string {
  return [m.secret, m.pvc, m.job]
    .filter(Boolean)
    .map(o => stringify(o, { sortMapEntries: false, lineWidth: 0 }))
    .join('---\n');
}

/**
 * The reviewed golden file's text. UPDATE_GOLDEN=1 rewrites a file that differs and fails the test
 * until the diff is reviewed; under CI=true it is refused (@kube-restore/common's expectedText).
 */
function golden(name: string, actual: string): string {
  const file = join(GOLDEN_DIR, `${name}.yaml`);
  return expectedText({
    file,
    actual,
    updateVar: 'UPDATE_GOLDEN',
    env: process.env,
    read: () => (existsSync(file) ? readFileSync(file, 'utf8') : undefined),
    write: text => {
      mkdirSync(GOLDEN_DIR, { recursive: true });
      writeFileSync(file, text);
    },
  });
}

const base: RestoreRequestInput = {
  source: { bucket: 'datasets', prefix: 'team-a/train/' },
  target: { namespace: 'team-a', pvc: 'train-data', size: '10Gi' },
  credentials: { type: 'secret', secretName: 's3-reader' },
};

const cases: [string, RestoreRequestInput, BuildOptions][] = [
  ['new-pvc', base, {}],
  [
    'new-pvc-auto-size',
    {
      ...base,
      target: {
        namespace: 'team-a',
        pvc: 'train-data',
        storageClassName: 'fast-ssd',
      },
    },
    { resolvedSize: '3Gi' },
  ],
  [
    'existing-pvc',
    {
      ...base,
      target: {
        namespace: 'team-a',
        pvc: 'shared',
        mode: 'existing',
        conflict: 'skip-existing',
      },
    },
    {},
  ],
  [
    'tar-archive',
    {
      ...base,
      name: 'restore-db',
      source: {
        bucket: 'backups',
        key: 'db/2026-11-20.tar.gz',
        endpoint: 'https://minio.example:9000',
        caBundle: { configMap: 'minio-ca' },
      },
    },
    {},
  ],
  [
    'glacier-tier',
    {
      ...base,
      source: {
        bucket: 'archive',
        prefix: 'cold/',
        archive: { tier: 'Bulk', days: 3 },
      },
      // The Job's deadline runs from its start and covers the thaw wait (archive.waitSeconds,
      // 48 h by default) and the restore after it: 72 h, not the 48 h the wait alone may take.
      options: { activeDeadlineSeconds: 259200 },
    },
    {},
  ],
  [
    'credentials-secret',
    { ...base, credentials: undefined, name: 'with-keys' },
    {
      credentials: {
        accessKeyId: 'AKIAEXAMPLE',
        secretAccessKey: 'wJalrEXAMPLEKEY',
        sessionToken: 'token',
      },
      requester: 'alice',
    },
  ],
  [
    'custom-image',
    base,
    {
      image: 'registry.local/kube-restore/restore-job:dev',
      imagePullPolicy: 'Never',
      resources: {
        requests: { cpu: '1', memory: '1Gi' },
        limits: { memory: '2Gi' },
      },
    },
  ],
  [
    'ownership-and-shards',
    {
      ...base,
      options: {
        parallelism: 4,
        concurrency: 32,
        owner: {
          uid: 1000,
          gid: 1001,
          fsGroup: 2000,
          fileMode: '0640',
          dirMode: '0750',
        },
        bandwidth: '100Mi',
        ttlSecondsAfterFinished: 600,
      },
    },
    {},
  ],
  [
    'web-identity',
    {
      ...base,
      credentials: {
        type: 'serviceAccount',
        serviceAccountName: 'irsa-reader',
      },
    },
    {},
  ],
];

describe('buildRestoreManifests', () => {
  it.each(cases)(
    'matches the golden manifests for %s',
    (name, input, options) => {
      const actual = toYaml(
        buildRestoreManifests(parseRestoreRequest(input), options),
      );
      expect(actual).toBe(golden(name, actual));
    },
  );

  it.each(cases)(
    'builds a %s Job that passes Pod Security "restricted" by construction',
    (_name, input, options) => {
      const { job } = buildRestoreManifests(
        parseRestoreRequest(input),
        options,
      );
      const pod = job.spec!.template.spec!;
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(pod.securityContext).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(pod.securityContext!.runAsUser).toBeGreaterThan(0);
      expect(pod.hostNetwork ?? false).toBe(false);
      for (const c of pod.containers) {
        expect(c.securityContext).toMatchObject({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        });
        expect(c.securityContext!.capabilities!.add).toBeUndefined();
        expect(c.terminationMessagePolicy).toBe('FallbackToLogsOnError');
      }
      expect(pod.volumes!.every(v => !v.hostPath)).toBe(true);
      expect(pod.restartPolicy).toBe('Never');
    },
  );

  it('never puts a secret value into the Job, its annotations or the request', () => {
    const m = buildRestoreManifests(
      parseRestoreRequest({ ...base, credentials: undefined }),
      {
        credentials: {
          accessKeyId: 'AKIAEXAMPLE',
          secretAccessKey: 'wJalrEXAMPLEKEY',
          sessionToken: 'sess-token-xyz',
        },
      },
    );
    const jobText =
      JSON.stringify(m.job) + JSON.stringify(m.request) + JSON.stringify(m.pvc);
    for (const secret of ['AKIAEXAMPLE', 'wJalrEXAMPLEKEY', 'sess-token-xyz']) {
      expect(jobText).not.toContain(secret);
      expect(JSON.stringify(m.secret)).toContain(secret);
    }
    const env = m.job.spec!.template.spec!.containers[0].env!;
    for (const name of [
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_SESSION_TOKEN',
    ]) {
      const v = env.find(e => e.name === name)!;
      expect(v.value).toBeUndefined();
      expect(v.valueFrom?.secretKeyRef?.name).toBe(m.secret!.metadata!.name);
    }
  });

  it('fails the Job at once on the fatal exit code and ignores disruptions', () => {
    const { job } = buildRestoreManifests(parseRestoreRequest(base));
    expect(job.spec!.podFailurePolicy!.rules).toEqual([
      {
        action: 'FailJob',
        onExitCodes: { containerName: 'restore', operator: 'In', values: [42] },
      },
      {
        action: 'Ignore',
        onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }],
      },
    ]);
  });

  it('names the same request the same way, so a second create finds the first', () => {
    const a = buildRestoreManifests(parseRestoreRequest(base));
    const b = buildRestoreManifests(
      parseRestoreRequest(JSON.parse(JSON.stringify(base))),
    );
    expect(a.name).toBe(b.name);
    expect(a.job).toEqual(b.job);
  });

  it('refuses auto size without a resolved size, and keys together with a credentials reference', () => {
    expect(() =>
      buildRestoreManifests(
        parseRestoreRequest({ ...base, target: { namespace: 'a', pvc: 'b' } }),
      ),
    ).toThrow(
      new ManifestError(
        'target.size is "auto": size the source first (sizeSource) or give a size such as 10Gi',
      ),
    );
    expect(() =>
      buildRestoreManifests(parseRestoreRequest(base), {
        credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      }),
    ).toThrow(/not both/);
    expect(() =>
      buildRestoreManifests(
        parseRestoreRequest({ ...base, credentials: undefined }),
        {
          credentials: { accessKeyId: 'a', secretAccessKey: '' },
        },
      ),
    ).toThrow(/both an access key id and a secret access key/);
  });

  it('refuses setuid, setgid and sticky modes unless the deployment allows them, and then tells the job', () => {
    const special = parseRestoreRequest(
      { ...base, options: { owner: { fileMode: '4755' } } },
      { allowSpecialModeBits: true },
    );
    expect(() => buildRestoreManifests(special)).toThrow(
      /options\.owner\.fileMode: "4755" sets setuid/,
    );
    const env = (m: RestoreManifests) =>
      m.job.spec!.template.spec!.containers[0].env!.map(e => e.name);
    expect(
      env(buildRestoreManifests(special, { allowSpecialModeBits: true })),
    ).toContain('KUBE_RESTORE_ALLOW_SPECIAL_MODE_BITS');
    expect(env(buildRestoreManifests(parseRestoreRequest(base)))).not.toContain(
      'KUBE_RESTORE_ALLOW_SPECIAL_MODE_BITS',
    );
  });

  it('creates no PVC for an existing one', () => {
    const m = buildRestoreManifests(
      parseRestoreRequest({
        ...base,
        target: { namespace: 'a', pvc: 'b', mode: 'existing' },
      }),
    );
    expect(m.pvc).toBeUndefined();
    expect(
      m.job.spec!.template.spec!.volumes![0].persistentVolumeClaim!.claimName,
    ).toBe('b');
  });

  it("gives an existing PVC's files to no fsGroup unless the request names one", () => {
    const ctx = (target: object, owner: object = {}) =>
      buildRestoreManifests(
        parseRestoreRequest({
          ...base,
          target: { namespace: 'a', pvc: 'b', ...target },
          options: { owner },
        }),
      ).job.spec!.template.spec!.securityContext!;
    // the kubelet would change the group of an application's data on an existing volume
    expect(ctx({ mode: 'existing' })).not.toHaveProperty('fsGroup');
    expect(ctx({ mode: 'existing' })).not.toHaveProperty('fsGroupChangePolicy');
    expect(ctx({ mode: 'existing' })).toMatchObject({
      runAsUser: 65532,
      runAsGroup: 65532,
    });
    expect(ctx({ mode: 'existing' }, { fsGroup: 3000 })).toMatchObject({
      fsGroup: 3000,
      fsGroupChangePolicy: 'OnRootMismatch',
    });
    // a new PVC is the restore's own: its files belong to the pod's group
    expect(ctx({ mode: 'new', size: '1Gi' }, { gid: 2000 })).toMatchObject({
      fsGroup: 2000,
    });
  });
});
