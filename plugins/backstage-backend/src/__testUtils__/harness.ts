/*
 * The harness cluster (test/cluster) as the restore backend's cluster test and the scaffolder module's
 * cluster test use it: kube-restore installed from deploy/ as deploy/README.md says, a bucket of backups
 * in the harness's MinIO, the kubeRestore config that reaches both, and a test backend with the real
 * Backstage parts of backstage.ts.
 */
import {
  CreateBucketCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { JsonObject } from '@backstage/types';
import { Cluster } from '@kube-restore/test-cluster';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { PEOPLE_FILE, catalogReady, realBackstage } from './backstage';
import { sqliteFile } from './fakes';

const REPO = path.resolve(__dirname, '../../../..');
const DEPLOY = path.join(REPO, 'deploy');
const run = promisify(execFile);

/** The catalog of these tests: the people of backstage.ts and the components of catalog.cluster.yaml. */
export const CLUSTER_CATALOG = [
  PEOPLE_FILE,
  path.join(__dirname, 'catalog.cluster.yaml'),
];

/** What seedBackups puts under each prefix of the bucket `backups`. */
export const FILES: Record<string, string> = {
  'a.txt': 'alpha\n',
  'sub/b.txt': 'bravo bravo\n',
};

export type AdminKubectl = (
  ...args: string[]
) => Promise<{ stdout: string; stderr: string }>;

/** The real kubectl as the harness admin; a failure names the command and kubectl's stderr. */
export function adminKubectl(cluster: Cluster): AdminKubectl {
  return async (...args) => {
    try {
      return await run(cluster.binaries.kubectl, [
        '--kubeconfig',
        cluster.kubeconfig.admin,
        ...args,
      ]);
    } catch (error) {
      const e = error as { stderr?: string; message: string };
      throw new Error(
        `kubectl ${args.join(' ')} failed: ${e.stderr || e.message}`,
      );
    }
  };
}

/**
 * Installs kube-restore as deploy/README.md says: the cluster-wide part, then each of `teams` opts the
 * operator in and names its own catalog group as the owners Backstage may restore for. Returns the
 * operator ServiceAccount's token (from the harness's operator kubeconfig), which the backend uses.
 */
export async function installForTeams(
  cluster: Cluster,
  teams: string[],
): Promise<string> {
  const token = /token: (\S+)/.exec(
    fs.readFileSync(cluster.kubeconfig.operator, 'utf8'),
  )?.[1];
  if (!token) throw new Error(`no token in ${cluster.kubeconfig.operator}`);
  const kubectl = adminKubectl(cluster);
  await kubectl('apply', '-k', DEPLOY);
  for (const team of teams) {
    await kubectl(
      'apply',
      '-k',
      path.join(DEPLOY, 'rbac', 'opt-in'),
      '-n',
      team,
    );
    await kubectl(
      '-n',
      team,
      'annotate',
      'rolebinding',
      'kube-restore-operator',
      '--overwrite',
      `kube-restore.io/backstage-owners=group:default/${team}`,
    );
  }
  return token;
}

/** An S3 client of the harness's MinIO with its keys; destroy() it when done. */
export function harnessS3(cluster: Cluster): S3Client {
  if (!cluster.s3) throw new Error('the harness started without MinIO');
  return new S3Client({
    endpoint: cluster.s3.endpoint,
    region: cluster.s3.region,
    forcePathStyle: true,
    credentials: {
      accessKeyId: cluster.s3.accessKeyId,
      secretAccessKey: cluster.s3.secretAccessKey,
    },
  });
}

/** Creates the bucket `backups` with FILES under each of `prefixes` (such as `team-a/shop/data/`). */
export async function seedBackups(
  cluster: Cluster,
  prefixes: string[],
): Promise<void> {
  const s3 = harnessS3(cluster);
  try {
    await s3.send(new CreateBucketCommand({ Bucket: 'backups' }));
    for (const [name, body] of Object.entries(FILES))
      for (const prefix of prefixes)
        await s3.send(
          new PutObjectCommand({
            Bucket: 'backups',
            Key: `${prefix}${name}`,
            Body: body,
          }),
        );
  } finally {
    s3.destroy();
  }
}

/** kubeRestore.clusters: the harness's apiserver as the operator (`token` from installForTeams). */
export function localClusters(cluster: Cluster, token: string): JsonObject[] {
  return [
    {
      name: 'local',
      url: cluster.server,
      caData: cluster.ca,
      serviceAccountToken: token,
    },
  ];
}

/** The kubeRestore source `nightly`: the bucket `backups`, a prefix per entity, the MinIO keys. */
export function nightlySource(cluster: Cluster): JsonObject {
  if (!cluster.s3) throw new Error('the harness started without MinIO');
  return {
    name: 'nightly',
    endpoint: cluster.s3.endpoint,
    region: cluster.s3.region,
    bucket: 'backups',
    prefix: '${namespace}/${entity}/',
    credentials: {
      accessKeyId: cluster.s3.accessKeyId,
      secretAccessKey: cluster.s3.secretAccessKey,
    },
  };
}

type Features = Parameters<typeof startTestBackend>[0]['features'];

/**
 * A test backend of `features` beside the real Backstage parts of backstage.ts over CLUSTER_CATALOG,
 * with a SQLite file as the restore plugin's database and `data` as config (over Backstage's own);
 * returned once the catalog holds `entities`. stop() stops it and closes its databases.
 */
export async function startClusterBackend(options: {
  features: Features;
  data: JsonObject;
  entities: string[];
}) {
  const db = sqliteFile();
  const backstage = realBackstage({
    catalogFiles: CLUSTER_CATALOG,
    restoreKnex: db.knex,
  });
  const backend = await startTestBackend({
    features: [
      ...(options.features ?? []),
      ...backstage.features,
      mockServices.rootConfig.factory({
        data: { ...backstage.config, ...options.data },
      }),
    ],
  });
  await catalogReady(backend.server, options.entities);
  return {
    backend,
    /** Stops the backend and closes its databases (see sqliteFile). */
    stop: async () => {
      await backend.stop();
      await backstage.destroy();
      await db.knex.destroy();
    },
  };
}

/** The files under `dir` by relative path, without kube-restore's own `.kube-restore` directory. */
export function readTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.name === '.kube-restore') continue;
      if (entry.isDirectory()) walk(path.join(d, entry.name), r);
      else out[r] = fs.readFileSync(path.join(d, entry.name), 'utf8');
    }
  };
  walk(dir, '');
  return out;
}
