/**
 * Request -> manifests, pure: the PVC (when new), the Job, and the credentials Secret (when the caller
 * hands over keys). No cluster is read here; `--dry-run=client` prints exactly this.
 */
import type {
  V1Affinity,
  V1EnvVar,
  V1Job,
  V1PersistentVolumeClaim,
  V1ResourceRequirements,
  V1Secret,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import {
  ANNOTATION_CREATED_BY,
  ANNOTATION_REQUEST,
  ANNOTATION_REQUESTER,
  DEFAULT_TARGET,
  ENV_ALLOW_SPECIAL_MODE_BITS,
  ENV_REQUEST,
  ENV_TARGET,
  EXIT_CODE_FATAL,
  LABEL_COMPONENT,
  LABEL_MANAGED_BY,
  LABEL_NAME,
  LABEL_RESTORE,
  MANAGED_BY_VALUE,
  RestoreRequest,
  parseQuantity,
  restoreNameOf,
  specialModeBitsProblems,
} from '@kube-restore/common';
import { DEFAULT_JOB_IMAGE, KUBE_RESTORE_VERSION } from './version';
import { S3Keys, inlineCredentials } from './inlineCredentials';
import { ManifestError } from './manifestError';

export interface BuildOptions {
  /** The job image; default DEFAULT_JOB_IMAGE. */
  image?: string;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  /** Size of a new PVC when the request says `auto` (from sizeSource). Required then. */
  resolvedSize?: string;
  /** Keys to store in a Secret owned by the Job; the request must then not name credentials itself. */
  credentials?: S3Keys;
  /** Who asked (kubectl user, Backstage user ref); recorded as an annotation. */
  requester?: string;
  resources?: V1ResourceRequirements;
  /**
   * The deployment allows setuid, setgid and sticky bits in options.owner.fileMode/dirMode (its
   * configuration, never the request): the Job then says so to the job program.
   */
  allowSpecialModeBits?: boolean;
}

export interface RestoreManifests {
  name: string;
  namespace: string;
  /** The request as the Job carries it (credentials point at the Secret when one is built). */
  request: RestoreRequest;
  pvc?: V1PersistentVolumeClaim;
  job: V1Job;
  secret?: V1Secret;
}

export const CONTAINER_NAME = 'restore';
export const JOB_UID = 65532;
export const DATA_VOLUME = 'data';
export const TMP_VOLUME = 'tmp';
export const CA_VOLUME = 'ca-bundle';
export const CA_MOUNT_PATH = '/etc/kube-restore/ca';

export const DEFAULT_RESOURCES: V1ResourceRequirements = {
  requests: { cpu: '250m', memory: '256Mi' },
  limits: { memory: '512Mi' },
};

export function restoreLabels(name: string): Record<string, string> {
  return {
    [LABEL_MANAGED_BY]: MANAGED_BY_VALUE,
    [LABEL_NAME]: 'kube-restore',
    [LABEL_COMPONENT]: 'restore-job',
    [LABEL_RESTORE]: name,
  };
}

/** Label selector for everything of one restore, or of all restores. */
export function restoreSelector(name?: string): string {
  return name
    ? `${LABEL_RESTORE}=${name}`
    : `${LABEL_MANAGED_BY}=${MANAGED_BY_VALUE},${LABEL_RESTORE}`;
}

export function buildRestoreManifests(
  parsed: RestoreRequest,
  options: BuildOptions = {},
): RestoreManifests {
  const name = restoreNameOf(parsed);
  const { namespace } = parsed.target;
  if (!options.allowSpecialModeBits) {
    const problems = specialModeBitsProblems(parsed.options.owner);
    if (problems.length > 0)
      throw new ManifestError(
        problems.map(p => `${p.path}: ${p.message}`).join('; '),
      );
  }
  let request: RestoreRequest = { ...parsed, name };
  let secret: V1Secret | undefined;

  if (options.credentials) {
    // Owned by the Job: createRestore sets ownerReferences once the Job has a UID.
    const inline = inlineCredentials(parsed.credentials, options.credentials, {
      name,
      namespace,
      labels: restoreLabels(name),
    });
    request = { ...request, credentials: inline.credentials };
    secret = inline.secret;
  }

  let pvc: V1PersistentVolumeClaim | undefined;
  if (request.target.mode === 'new') {
    const size =
      request.target.size === 'auto'
        ? options.resolvedSize
        : request.target.size;
    if (!size) {
      throw new ManifestError(
        'target.size is "auto": size the source first (sizeSource) or give a size such as 10Gi',
      );
    }
    parseQuantity(size);
    pvc = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: {
        name: request.target.pvc,
        namespace,
        labels: restoreLabels(name),
        annotations: { [ANNOTATION_CREATED_BY]: name },
      },
      spec: {
        accessModes: [...request.target.accessModes],
        resources: { requests: { storage: size } },
        ...(request.target.storageClassName
          ? { storageClassName: request.target.storageClassName }
          : {}),
      },
    };
  }

  const job = buildJob(name, request, options);
  return { name, namespace, request, pvc, job, secret };
}

function credentialEnv(request: RestoreRequest): V1EnvVar[] {
  const { credentials } = request;
  if (credentials.type !== 'secret') return [];
  const ref = (envName: string, key: string, optional = false): V1EnvVar => ({
    name: envName,
    valueFrom: {
      secretKeyRef: {
        name: credentials.secretName,
        key,
        ...(optional ? { optional } : {}),
      },
    },
  });
  return [
    ref('AWS_ACCESS_KEY_ID', credentials.accessKeyIdKey),
    ref('AWS_SECRET_ACCESS_KEY', credentials.secretAccessKeyKey),
    ...(credentials.sessionTokenKey
      ? [ref('AWS_SESSION_TOKEN', credentials.sessionTokenKey)]
      : []),
  ];
}

/**
 * Shards of one restore into a volume that is not ReadWriteMany must run on one node. The scheduler
 * does not see to that by itself: with WaitForFirstConsumer, shards scheduled before the volume is
 * bound can each pick a node, and all but one then wait forever for a volume pinned to another node
 * (or a Multi-Attach error for attachable volumes). A required pod affinity to the restore's own
 * pods keeps them together; the first shard satisfies it by matching itself.
 */
function shardAffinity(
  request: RestoreRequest,
  labels: Record<string, string>,
): { affinity?: V1Affinity } {
  if (request.options.parallelism <= 1) return {};
  if (request.target.accessModes.includes('ReadWriteMany')) return {};
  return {
    affinity: {
      podAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [
          {
            labelSelector: {
              matchLabels: { [LABEL_RESTORE]: labels[LABEL_RESTORE] },
            },
            topologyKey: 'kubernetes.io/hostname',
          },
        ],
      },
    },
  };
}

/**
 * The kubelet gives a volume to the pod's fsGroup: it changes the group (and group bits) of every
 * file on it whose root does not match. That is right for a PVC the restore creates, and wrong for
 * an existing one that holds an application's data: there the pod gets no fsGroup unless the request
 * names one, and writes as its uid/gid into what that identity may write.
 */
function fsGroupOf(request: RestoreRequest): {
  fsGroup?: number;
  fsGroupChangePolicy?: 'OnRootMismatch';
} {
  const { owner } = request.options;
  if (request.target.mode === 'existing' && owner.fsGroup === undefined)
    return {};
  return {
    fsGroup: owner.fsGroup ?? owner.gid ?? JOB_UID,
    fsGroupChangePolicy: 'OnRootMismatch',
  };
}

function buildJob(
  name: string,
  request: RestoreRequest,
  options: BuildOptions,
): V1Job {
  const { namespace } = request.target;
  const { parallelism, owner } = request.options;
  const labels = restoreLabels(name);
  const requestJson = JSON.stringify(request);

  const env: V1EnvVar[] = [
    { name: ENV_REQUEST, value: requestJson },
    { name: ENV_TARGET, value: DEFAULT_TARGET },
    { name: 'AWS_REGION', value: request.source.region },
    { name: 'HOME', value: '/tmp' },
    { name: 'TMPDIR', value: '/tmp' },
    ...(options.allowSpecialModeBits
      ? [{ name: ENV_ALLOW_SPECIAL_MODE_BITS, value: 'true' }]
      : []),
    ...credentialEnv(request),
  ];
  const volumeMounts: V1VolumeMount[] = [
    { name: DATA_VOLUME, mountPath: DEFAULT_TARGET },
    { name: TMP_VOLUME, mountPath: '/tmp' },
  ];
  const volumes: V1Volume[] = [
    {
      name: DATA_VOLUME,
      persistentVolumeClaim: { claimName: request.target.pvc },
    },
    { name: TMP_VOLUME, emptyDir: { sizeLimit: '256Mi' } },
  ];
  if (request.source.caBundle) {
    const { configMap, key } = request.source.caBundle;
    env.push({ name: 'AWS_CA_BUNDLE', value: `${CA_MOUNT_PATH}/${key}` });
    volumeMounts.push({
      name: CA_VOLUME,
      mountPath: CA_MOUNT_PATH,
      readOnly: true,
    });
    volumes.push({
      name: CA_VOLUME,
      configMap: { name: configMap, items: [{ key, path: key }] },
    });
  }

  const uid = owner.uid ?? JOB_UID;
  const gid = owner.gid ?? JOB_UID;
  const annotations: Record<string, string> = {
    [ANNOTATION_REQUEST]: requestJson,
  };
  if (options.requester) annotations[ANNOTATION_REQUESTER] = options.requester;

  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      namespace,
      labels: { ...labels, 'app.kubernetes.io/version': KUBE_RESTORE_VERSION },
      annotations,
    },
    spec: {
      backoffLimit: request.options.backoffLimit,
      ttlSecondsAfterFinished: request.options.ttlSecondsAfterFinished,
      ...(request.options.activeDeadlineSeconds !== undefined
        ? { activeDeadlineSeconds: request.options.activeDeadlineSeconds }
        : {}),
      // Several pods share the volume: see shardAffinity for where they may run.
      ...(parallelism > 1
        ? { completionMode: 'Indexed', completions: parallelism, parallelism }
        : {}),
      podFailurePolicy: {
        rules: [
          {
            action: 'FailJob',
            onExitCodes: {
              containerName: CONTAINER_NAME,
              operator: 'In',
              values: [EXIT_CODE_FATAL],
            },
          },
          {
            action: 'Ignore',
            onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }],
          },
        ],
      },
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          ...shardAffinity(request, labels),
          ...(request.credentials.type === 'serviceAccount'
            ? { serviceAccountName: request.credentials.serviceAccountName }
            : {}),
          securityContext: {
            runAsNonRoot: true,
            runAsUser: uid,
            runAsGroup: gid,
            ...fsGroupOf(request),
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: CONTAINER_NAME,
              image: options.image ?? DEFAULT_JOB_IMAGE,
              imagePullPolicy: options.imagePullPolicy ?? 'IfNotPresent',
              env,
              volumeMounts,
              resources: options.resources ?? DEFAULT_RESOURCES,
              terminationMessagePath: '/dev/termination-log',
              terminationMessagePolicy: 'FallbackToLogsOnError',
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                runAsNonRoot: true,
                capabilities: { drop: ['ALL'] },
                seccompProfile: { type: 'RuntimeDefault' },
              },
            },
          ],
          volumes,
        },
      },
    },
  };
}
