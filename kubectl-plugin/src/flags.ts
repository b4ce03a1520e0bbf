/**
 * Every flag of the plugin, defined once (the table's shape and what is made of it: flagTable.ts). An
 * entry gives the option and its help, the request fields it sets and the values completion offers.
 * Data only: the shell loads it before any command, and completion reads it.
 */
import { DEFAULT_PARTS } from '@kube-restore/common';
import type { FlagTable, FlagValues } from './flagTable';

/** `--dry-run` alone means client, as in kubectl. */
function dryRunOf(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (v === '' || v === true) return 'client';
  return String(v);
}

export const GLOBAL_FLAGS = {
  kubeconfig: { type: 'string', describe: 'path to the kubeconfig file' },
  context: { type: 'string', describe: 'kubeconfig context to use' },
  namespace: {
    alias: 'n',
    type: 'string',
    describe: 'namespace (default: from the context, else default)',
  },
  'all-namespaces': {
    alias: 'A',
    type: 'boolean',
    describe: 'list across all namespaces',
  },
  'request-timeout': {
    type: 'string',
    describe: 'limit for each API request (30s, 1m; 0 = none)',
  },
  output: {
    alias: 'o',
    type: 'string',
    describe: 'json | yaml | name | wide (per command)',
    values: ['json', 'yaml', 'name', 'wide'],
  },
  v: { type: 'string', describe: 'verbose: stack traces on errors' },
} as const satisfies FlagTable;

export const SOURCE_FLAGS = {
  from: {
    type: 'string',
    describe:
      's3://BUCKET/PREFIX/, s3://BUCKET/KEY.tar.gz or https://ENDPOINT/BUCKET/PREFIX/',
    fields: ['source.bucket', 'source.prefix', 'source.key'],
  },
  endpoint: {
    type: 'string',
    describe: 'S3-compatible endpoint (https://host:port); default AWS S3',
    fields: ['source.endpoint'],
  },
  region: {
    type: 'string',
    describe: 'S3 region (default us-east-1)',
    fields: ['source.region'],
  },
  'path-style': {
    type: 'boolean',
    describe: 'path-style bucket addressing (default: on with --endpoint)',
  },
  format: {
    type: 'string',
    describe: 'objects | tar | auto (default auto: by the key)',
    fields: ['source.format'],
    values: ['objects', 'tar', 'auto'],
  },
  include: {
    type: 'string',
    array: true,
    describe: 'only keys matching this glob (repeatable)',
    fields: ['source.include'],
  },
  exclude: {
    type: 'string',
    array: true,
    describe: 'skip keys matching this glob (repeatable)',
    fields: ['source.exclude'],
  },
  'strip-prefix': {
    type: 'string',
    describe: 'remove this path from the front of each key',
    fields: ['source.stripPrefix'],
  },
  'as-of': {
    type: 'string',
    describe:
      'newest object versions at or before this time (versioned buckets; a prefix, one object or an archive)',
    fields: ['source.asOf'],
  },
  'archive-tier': {
    type: 'string',
    describe:
      'Expedited | Standard | Bulk | fail: thaw Glacier objects, or fail (default)',
    fields: ['source.archive.tier'],
    values: ['Expedited', 'Standard', 'Bulk', 'fail'],
  },
  'archive-poll': {
    type: 'string',
    describe:
      'between checks that thawed objects are readable (default 1m, growing; lower it for Expedited)',
    fields: ['source.archive.pollSeconds'],
  },
} as const satisfies FlagTable;

/** Flags of the commands that build a request (create, create-namespace, plan). */
export const REQUEST_FLAGS = {
  ...SOURCE_FLAGS,
  to: {
    type: 'string',
    describe: 'target PVC: pvc/NAME',
    fields: ['target.pvc'],
  },
  size: {
    type: 'string',
    describe:
      'size of a new PVC: auto (from the source) or a quantity such as 10Gi',
    fields: ['target.size'],
  },
  'storage-class': {
    type: 'string',
    describe: 'storage class of a new PVC',
    fields: ['target.storageClassName'],
  },
  'access-mode': {
    type: 'string',
    array: true,
    describe: 'access mode of a new PVC (repeatable; default ReadWriteOnce)',
    fields: ['target.accessModes'],
    values: [
      'ReadWriteOnce',
      'ReadOnlyMany',
      'ReadWriteMany',
      'ReadWriteOncePod',
    ],
  },
  'existing-pvc': {
    type: 'boolean',
    describe: 'restore into a PVC that exists already',
  },
  conflict: {
    type: 'string',
    describe: 'with --existing-pvc: fail | skip-existing | overwrite',
    fields: ['target.conflict'],
    values: ['fail', 'skip-existing', 'overwrite'],
  },
  secret: {
    type: 'string',
    describe:
      'Secret in the namespace with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
    fields: ['credentials.secretName'],
  },
  'credentials-from-env': {
    type: 'boolean',
    describe:
      'store $AWS_ACCESS_KEY_ID/$AWS_SECRET_ACCESS_KEY/$AWS_SESSION_TOKEN in a Secret owned by the Job',
  },
  'service-account': {
    type: 'string',
    describe: 'run the pod as this ServiceAccount (web identity, IRSA)',
    fields: ['credentials.serviceAccountName'],
  },
  uid: {
    type: 'string',
    describe: 'user id the files are written as',
    fields: ['options.owner.uid'],
  },
  gid: {
    type: 'string',
    describe: 'group id the files are written as',
    fields: ['options.owner.gid'],
  },
  'fs-group': {
    type: 'string',
    describe: 'fsGroup of the pod',
    fields: ['options.owner.fsGroup'],
  },
  'file-mode': {
    type: 'string',
    describe: 'mode of restored files, e.g. 0644',
    fields: ['options.owner.fileMode'],
  },
  'dir-mode': {
    type: 'string',
    describe: 'mode of restored directories, e.g. 0755',
    fields: ['options.owner.dirMode'],
  },
  ttl: {
    type: 'string',
    describe: 'delete the finished Job after this long (default 24h)',
    fields: ['options.ttlSecondsAfterFinished'],
  },
  deadline: {
    type: 'string',
    describe: 'fail the restore after this long',
    fields: ['options.activeDeadlineSeconds'],
  },
  bandwidth: {
    type: 'string',
    describe: 'bytes per second per pod, as a quantity (50Mi)',
    fields: ['options.bandwidth'],
  },
  parallelism: {
    type: 'string',
    describe: 'pods of an Indexed Job sharing the keys (default 1)',
    fields: ['options.parallelism'],
  },
  concurrency: {
    type: 'string',
    describe: 'transfers in flight in each pod (default 16)',
    fields: ['options.concurrency'],
  },
  'backoff-limit': {
    type: 'string',
    describe: 'retries of a failed pod (default 3)',
    fields: ['options.backoffLimit'],
  },
  'part-size': {
    type: 'string',
    describe: `bytes per ranged GET of a large object (default ${DEFAULT_PARTS.size})`,
    fields: ['options.parts.size'],
  },
  'part-concurrency': {
    type: 'string',
    describe: `ranged GETs in flight per large object (default ${DEFAULT_PARTS.concurrency}), on the --concurrency slots no other large object needs`,
    fields: ['options.parts.concurrency'],
  },
  'ranged-min-size': {
    type: 'string',
    describe: `objects at least this large are fetched as ranged GETs (default ${DEFAULT_PARTS.minObjectSize})`,
    fields: ['options.parts.minObjectSize'],
  },
  'retry-attempts': {
    type: 'string',
    describe: 'attempts per S3 request (default 8)',
    fields: ['options.retry.attempts'],
  },
  'throttle-budget': {
    type: 'string',
    describe:
      'how long S3 may throttle every request before the pod gives up (default 15m)',
    fields: ['options.retry.throttleBudgetSeconds'],
  },
  verify: {
    type: 'boolean',
    describe: 'verify sizes and checksums (default true)',
  },
  'allow-empty': {
    type: 'boolean',
    describe: 'succeed when no object matches',
  },
} as const satisfies FlagTable;

/** Flags of the commands that create restores (create, create-namespace). */
export const APPLY_FLAGS = {
  image: { type: 'string', describe: 'job image' },
  'dry-run': {
    type: 'string',
    describe:
      'client: print the manifests; server: let the API server validate them',
    values: ['client', 'server', 'none'],
    read: dryRunOf,
  },
  wait: {
    type: 'boolean',
    describe: 'wait until the restore(s) end, with live progress',
  },
  timeout: {
    type: 'string',
    describe: 'with --wait: give up waiting after this long',
  },
} as const satisfies FlagTable;

export const CREATE_FLAGS = {
  ...REQUEST_FLAGS,
  ...APPLY_FLAGS,
  'image-pull-policy': {
    type: 'string',
    describe: 'Always | IfNotPresent | Never',
    values: ['Always', 'IfNotPresent', 'Never'],
  },
  declarative: {
    type: 'boolean',
    describe:
      'create nothing: print a RestoreSource and the PVC naming it, for kubectl apply or Git',
  },
  'print-secret': {
    type: 'boolean',
    describe:
      'with --declarative --credentials-from-env: print the keys in a Secret the RestoreSource names',
  },
} as const satisfies FlagTable;

export const LIST_FLAGS = {
  selector: { alias: 'l', type: 'string', describe: 'label selector' },
} as const satisfies FlagTable;

export const LOGS_FLAGS = {
  follow: {
    alias: 'f',
    type: 'boolean',
    describe: 'stream the log as it is written',
  },
  raw: { type: 'boolean', describe: 'print the JSON lines as they are' },
  tail: { type: 'string', describe: 'lines from the end (-1: all)' },
} as const satisfies FlagTable;

export const WAIT_FLAGS = {
  for: {
    type: 'string',
    describe: 'Planning | Thawing | Restoring | Verifying | Succeeded | Failed',
    values: [
      'Planning',
      'Thawing',
      'Restoring',
      'Verifying',
      'Succeeded',
      'Failed',
    ],
  },
  timeout: {
    type: 'string',
    describe: 'give up waiting after this long (default: no limit)',
  },
} as const satisfies FlagTable;

export const DELETE_FLAGS = {
  'keep-pvc': {
    type: 'boolean',
    default: true,
    describe: 'keep the PVC (false: delete it if this restore created it)',
  },
  'ignore-not-found': {
    type: 'boolean',
    describe: 'no error for missing restores',
  },
} as const satisfies FlagTable;

export const EXISTS_FLAGS = {
  from: {
    type: 'string',
    describe:
      'backup layout with ${namespace} and ${pvc}, e.g. s3://backups/${namespace}/${pvc}/',
  },
  endpoint: SOURCE_FLAGS.endpoint,
  region: SOURCE_FLAGS.region,
  'path-style': SOURCE_FLAGS['path-style'],
  'credentials-from-env': {
    type: 'boolean',
    describe: 'read with $AWS_ACCESS_KEY_ID/$AWS_SECRET_ACCESS_KEY',
  },
} as const satisfies FlagTable;

export type SourceFlags = FlagValues<typeof SOURCE_FLAGS>;
/** The request flags, and the restore name (positional NAME). */
export type RequestFlags = FlagValues<typeof REQUEST_FLAGS> & {
  name?: string;
};
