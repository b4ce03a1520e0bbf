/**
 * Reads and checks `kubeRestore` config at start-up. Any problem stops the backend with a message that
 * names the key (`kubeRestore.sources[1].prefix: must end with "/"`). Secrets never appear in messages.
 */
import { Config } from '@backstage/config';
import {
  ARCHIVE_TIERS,
  dns1123LabelProblem,
  parseQuantity,
} from '@kube-restore/common';
import { z } from 'zod';
import { describeIssue } from './zodIssues';

const quantity = z.string().superRefine((value, ctx) => {
  try {
    parseQuantity(value);
  } catch (error) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      message: (error as Error).message,
    });
  }
});

/** Cluster and source names: DNS-1123 labels, like the names they sit beside in Kubernetes. */
const name = z.string().superRefine((value, ctx) => {
  const problem = dns1123LabelProblem(value);
  if (problem)
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      message: `${problem}, such as "prod" or "nightly"`,
    });
});

export const TEMPLATE_VARIABLES = [
  'namespace',
  'entity',
  'kind',
  'entityNamespace',
  'cluster',
] as const;

const prefixTemplate = z
  .string()
  .refine(v => v === '' || v.endsWith('/'), 'must end with "/"')
  .superRefine((value, ctx) => {
    for (const match of value.matchAll(/\$\{([^}]*)\}/g)) {
      if (!(TEMPLATE_VARIABLES as readonly string[]).includes(match[1])) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          message: `unknown variable \${${match[1]}}; use ${TEMPLATE_VARIABLES.map(v => `\${${v}}`).join(', ')}`,
        });
      }
    }
  });

const clusterSchema = z
  .object({
    name,
    url: z.string().url().optional(),
    caData: z.string().min(1).optional(),
    serviceAccountToken: z.string().min(1).optional(),
    inCluster: z.boolean().default(false),
    skipTLSVerify: z.boolean().default(false),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (!c.inCluster && !c.url)
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['url'],
        message: 'is required (or set inCluster: true)',
      });
    if (!c.inCluster && !c.serviceAccountToken) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['serviceAccountToken'],
        message: 'is required (or set inCluster: true)',
      });
    }
  });

const credentialsSchema = z
  .object({
    secretName: z.string().min(1).optional(),
    accessKeyId: z.string().min(1).optional(),
    secretAccessKey: z.string().min(1).optional(),
    sessionToken: z.string().min(1).optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.secretName && c.accessKeyId) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['secretName'],
        message:
          'give either secretName or accessKeyId/secretAccessKey, not both',
      });
    }
    if (!!c.accessKeyId !== !!c.secretAccessKey) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: [c.accessKeyId ? 'secretAccessKey' : 'accessKeyId'],
        message: 'is required together with the other key',
      });
    }
  });

const sourceSchema = z
  .object({
    name,
    title: z.string().optional(),
    endpoint: z.string().url().optional(),
    region: z.string().default('us-east-1'),
    bucket: z.string().min(3),
    pathStyle: z.boolean().optional(),
    prefix: prefixTemplate,
    credentials: credentialsSchema.optional(),
    archiveTiers: z.array(z.enum(ARCHIVE_TIERS)).default([]),
    shared: z.boolean().default(false),
    /**
     * Who sees where the source is (its endpoint and bucket) in `GET /sources`: catalog owner refs
     * (`group:default/sre`, `user:default/alice`) matched against the caller's ownership refs.
     * Everyone else, services included, sees its name, title, region, prefix and tiers only.
     */
    visibleTo: z
      .array(
        z
          .string()
          .regex(
            /^(group|user):[^\s/:]+\/[^\s/:]+$/i,
            'must be an owner entity ref such as group:default/sre',
          )
          .transform(ref => ref.toLocaleLowerCase('en-US')),
      )
      .default([]),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (!s.shared && !pinsTarget(s.prefix))
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['prefix'],
        message: `"${s.prefix}" does not pin the target: every namespace restoring from it would get the same data. Put \${namespace} in it (or \${entityNamespace}, \${kind} and \${entity}), or set shared: true on the source if it is meant for several namespaces`,
      });
  });

/**
 * Whether a prefix template keeps one namespace's data from another's: it names the Kubernetes namespace
 * (whose consent guards it), or the whole entity ref (unique in the catalog; `${entity}` alone is not).
 */
export function pinsTarget(prefix: string): boolean {
  const has = (v: string) => prefix.includes(`\${${v}}`);
  return (
    has('namespace') || (has('entity') && has('kind') && has('entityNamespace'))
  );
}

const idRange = z
  .object({
    min: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1),
    max: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1),
  })
  .strict()
  .refine(r => r.min <= r.max, 'min must not be above max');

const SERVICE_SUBJECT = /^(external|plugin):[^\s:]+$/;

/**
 * A service subject allowed to write, and the catalog owners it acts for: the permission framework allows
 * a service principal everything without asking the policy, so these owners are all that scope it. The
 * old plain-string form (a subject acting for any entity) is refused, with the new form in the message.
 */
const serviceWriter = z
  .unknown()
  .superRefine((value, ctx) => {
    if (typeof value === 'string')
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: `a plain subject is no longer accepted (it let the service act for every entity): name the catalog owners it acts for, e.g. { subject: '${SERVICE_SUBJECT.test(value) ? value : 'external:release-bot'}', owners: ['group:default/team-a'] }`,
      });
  })
  .pipe(
    z
      .object({
        subject: z
          .string()
          .regex(
            SERVICE_SUBJECT,
            'must be a service subject such as external:release-bot or plugin:scaffolder',
          ),
        /** Entity refs as in `spec.owner`, e.g. `group:default/team-a`; compared case-insensitively. */
        owners: z
          .array(
            z
              .string()
              .regex(
                /^(group|user):[^\s/:]+\/[^\s/:]+$/i,
                'must be an owner entity ref such as group:default/team-a',
              )
              .transform(ref => ref.toLocaleLowerCase('en-US')),
          )
          .min(
            1,
            'name at least one owner (group:default/team-a): the service may create and delete restores only for entities they own',
          ),
      })
      .strict(),
  );

const configSchema = z
  .object({
    clusters: z.array(clusterSchema).min(1, 'configure at least one cluster'),
    defaultCluster: z.string().optional(),
    sources: z.array(sourceSchema).min(1, 'configure at least one source'),
    ownership: z
      .object({
        uid: idRange.optional(),
        gid: idRange.optional(),
        fsGroup: idRange.optional(),
        modes: z.boolean().default(false),
      })
      .strict()
      .default({}),
    exists: z
      .object({ source: z.string(), template: z.string().min(1) })
      .strict()
      .optional(),
    defaults: z
      .object({
        image: z.string().min(1).optional(),
        ttlSecondsAfterFinished: z.number().int().min(0).optional(),
        activeDeadlineSeconds: z.number().int().min(60).optional(),
        overagePercent: z.number().min(0).max(1000).default(10),
        storageClassName: z.string().optional(),
      })
      .strict()
      .default({}),
    limits: z
      .object({
        maxBytesPerRestore: quantity.optional(),
        concurrentRestoresPerNamespace: z.number().int().min(1).optional(),
        restoresPerDayPerOwner: z.number().int().min(1).optional(),
        bytesPerDayPerOwner: quantity.optional(),
        restoresPerDayPerUser: z.number().int().min(1).optional(),
        bytesPerDayPerUser: quantity.optional(),
      })
      .strict()
      .default({}),
    serviceAccess: z
      .object({
        /** Service tokens may call the read-only routes (sources, plan, list, get, events, logs). */
        read: z.boolean().default(false),
        /**
         * Service subjects that may also create and delete restores, each only for entities whose `spec.owner`
         * is one of its `owners` (the permission framework allows services everything, so this is the scope).
         */
        write: z.array(serviceWriter).default([]),
      })
      .strict()
      .default({}),
    notifications: z
      .object({ enabled: z.boolean().default(false) })
      .strict()
      .default({}),
    approval: z
      .object({
        rules: z.array(
          z
            .object({
              name: z.string().min(1),
              aboveBytes: quantity.optional(),
              tiers: z.array(z.enum(ARCHIVE_TIERS)).optional(),
              approvers: z
                .array(
                  z
                    .string()
                    .regex(
                      /^group:[^/]+\/.+$/,
                      'must be a group ref such as group:default/sre',
                    ),
                )
                .min(1),
            })
            .strict()
            .refine(
              r => r.aboveBytes !== undefined || (r.tiers?.length ?? 0) > 0,
              'give aboveBytes or tiers',
            ),
        ),
      })
      .strict()
      .default({ rules: [] }),
  })
  .strict()
  .superRefine((c, ctx) => {
    const clusters = c.clusters.map(x => x.name);
    if (c.defaultCluster && !clusters.includes(c.defaultCluster)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['defaultCluster'],
        message: `must name a configured cluster (${clusters.join(', ')})`,
      });
    }
    const sources = c.sources.map(s => s.name);
    c.sources.forEach((s, i) => {
      if (sources.indexOf(s.name) !== i)
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: ['sources', i, 'name'],
          message: `"${s.name}" is used twice`,
        });
    });
    c.clusters.forEach((s, i) => {
      if (clusters.indexOf(s.name) !== i)
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: ['clusters', i, 'name'],
          message: `"${s.name}" is used twice`,
        });
    });
    const writers = c.serviceAccess.write.map(w => w.subject);
    writers.forEach((subject, i) => {
      if (writers.indexOf(subject) !== i)
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: ['serviceAccess', 'write', i, 'subject'],
          message: `"${subject}" is listed twice: give it one entry with all its owners`,
        });
    });
    if (c.exists && !sources.includes(c.exists.source)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['exists', 'source'],
        message: `must name a configured source (${sources.join(', ')})`,
      });
    }
  });

export type RestoreConfig = z.output<typeof configSchema>;
export type SourceConfig = RestoreConfig['sources'][number];
export type ClusterConfig = RestoreConfig['clusters'][number];
export type ApprovalRule = RestoreConfig['approval']['rules'][number];

export const CONFIG_ROOT = 'kubeRestore';

function keyOf(path: (string | number)[]): string {
  return path.reduce<string>(
    (key, part) =>
      typeof part === 'number' ? `${key}[${part}]` : `${key}.${part}`,
    CONFIG_ROOT,
  );
}

/** Throws an Error naming every bad key, e.g. `kubeRestore.sources[0].bucket: is required`. */
export function readRestoreConfig(config: Config): RestoreConfig {
  const raw = config.getOptional(CONFIG_ROOT);
  if (raw === undefined) {
    throw new Error(
      `Missing required config value at '${CONFIG_ROOT}': configure kubeRestore.clusters and kubeRestore.sources`,
    );
  }
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map(issue => {
      return `${keyOf(issue.path)}: ${describeIssue(issue, 'key')}`;
    });
    throw new Error(`Invalid kube-restore config: ${problems.join('; ')}`);
  }
  return result.data;
}

/** Fills a prefix template; throws when a value would make the path escape (`..`, `/`). */
export function fillTemplate(
  template: string,
  values: Partial<Record<(typeof TEMPLATE_VARIABLES)[number] | 'pvc', string>>,
): string {
  return template.replace(/\$\{([^}]*)\}/g, (_m, key: string) => {
    const value = values[key as keyof typeof values];
    if (value === undefined) throw new Error(`no value for \${${key}}`);
    if (value.includes('/') || value === '..' || value === '.')
      throw new Error(`\${${key}} "${value}" is not a single path segment`);
    return value;
  });
}
