/**
 * The RestoreRequest: what to restore, from where, into which PVC, and how.
 * One zod schema validates every input (kubectl flags, HTTP bodies, the job program's env)
 * and applies the defaults; errors name the field path and what is allowed (fieldProblems.ts).
 * The options part, shared with RestoreSource, is in requestOptions.ts.
 */
import { z } from 'zod';
import {
  FieldProblem,
  RestoreRequestError,
  zodProblems,
} from './fieldProblems';
import {
  MAX_RESTORE_NAME_LENGTH,
  deriveRestoreName,
  dns1123LabelProblem,
  dns1123SubdomainProblem,
} from './names';
import { quantityString } from './quantitySchema';
import {
  bucketNameProblem,
  endpointProblem,
  looksLikeArchive,
  parseSourceUrl,
  SourceUrlError,
} from './sourceUrl';
import {
  optionsSchema,
  specialModeBitsProblems,
  withDefaultConcurrency,
} from './requestOptions';

export const REQUEST_API_VERSION = 'kube-restore.io/v1';

const refineProblem =
  (problem: (value: string) => string | undefined) =>
  (value: string, ctx: z.RefinementCtx) => {
    const why = problem(value);
    if (why)
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: `"${value}" ${why}`,
      });
  };

const dnsLabel = (max = 63) =>
  z.string().superRefine(refineProblem(v => dns1123LabelProblem(v, max)));
const dnsSubdomain = () =>
  z.string().superRefine(refineProblem(dns1123SubdomainProblem));

/**
 * Entries one directory may hold unless the request says otherwise (source.maxEntriesPerDirectory):
 * above the largest flat datasets in common use (COCO's train2017 has 118,287 images in one
 * directory), far below what makes a directory unusable.
 */
export const DEFAULT_MAX_ENTRIES_PER_DIRECTORY = 1_000_000;
/** The most source.maxEntriesPerDirectory may say. */
export const MAX_ENTRIES_PER_DIRECTORY_LIMIT = 100_000_000;

/** A glob on keys relative to the prefix (picomatch syntax); refuses what can only be a mistake. */
const glob = z
  .string()
  .min(1, 'a glob must not be empty')
  .max(1024)
  .refine(g => !g.includes('\0'), 'a glob must not contain NUL');

/** An S3 key or prefix: UTF-8, at most 1024 bytes, no NUL. */
const s3Path = z
  .string()
  .refine(
    v => new TextEncoder().encode(v).length <= 1024,
    'must be at most 1024 bytes',
  )
  .refine(v => !v.includes('\0'), 'must not contain NUL');

export interface ParseOptions {
  /**
   * Accept setuid, setgid and sticky bits in options.owner.fileMode and dirMode. Off by default:
   * only a deployment's own configuration turns it on (core passes it to the job as
   * ENV_ALLOW_SPECIAL_MODE_BITS), never the request.
   */
  allowSpecialModeBits?: boolean;
}

export const ARCHIVE_TIERS = ['Expedited', 'Standard', 'Bulk'] as const;
export type ArchiveTier = (typeof ARCHIVE_TIERS)[number];
export const ACCESS_MODES = [
  'ReadWriteOnce',
  'ReadWriteOncePod',
  'ReadWriteMany',
  'ReadOnlyMany',
] as const;
export const CONFLICT_POLICIES = [
  'fail',
  'skip-existing',
  'overwrite',
] as const;
export type ConflictPolicy = (typeof CONFLICT_POLICIES)[number];
export const SOURCE_FORMATS = ['objects', 'tar', 'auto'] as const;

export const sourceSchema = z
  .object({
    /** `https://host[:port]` of an S3-compatible server; absent for AWS S3. */
    endpoint: z
      .string()
      .url()
      .superRefine((v, ctx) => {
        const why = endpointProblem(v);
        if (why) ctx.addIssue({ code: z.ZodIssueCode.custom, message: why });
      })
      .optional(),
    region: z
      .string()
      .regex(/^[a-z0-9-]{1,32}$/, 'must be a region name such as us-east-1')
      .default('us-east-1'),
    bucket: z.string().superRefine(refineProblem(bucketNameProblem)),
    /** Restore every object under this prefix (ends with `/`, or empty for the whole bucket). */
    prefix: s3Path.optional(),
    /** Restore this one object (an archive, or a single file). */
    key: s3Path.optional(),
    format: z.enum(SOURCE_FORMATS).default('auto'),
    include: z.array(glob).max(64).default([]),
    exclude: z.array(glob).max(64).default([]),
    /** Removed from the front of each key's path below the prefix (or of each archive entry). */
    stripPrefix: s3Path.optional(),
    /** Restore the newest version at or before this time (needs a versioned bucket). */
    asOf: z.string().datetime({ offset: true }).optional(),
    archive: z
      .object({
        /** What to do with archived (Glacier) objects: thaw them with a tier, or fail before writing. */
        tier: z.enum([...ARCHIVE_TIERS, 'fail']).default('fail'),
        /** Days the thawed copy stays available. */
        days: z.number().int().min(1).max(365).default(1),
        /** Give up waiting for a thaw after this many seconds. */
        waitSeconds: z
          .number()
          .int()
          .min(60)
          .max(7 * 24 * 3600)
          .default(48 * 3600),
        pollSeconds: z
          .number()
          .int()
          .min(1)
          .max(3600)
          .optional()
          .describe(
            'Seconds between checks whether thawed objects are readable. Default: 60 s, growing to 15 min. ' +
              'Set it lower for the Expedited tier (ready in 1-5 minutes), so the restore starts soon after the thaw ends.',
          ),
      })
      .strict()
      .default({}),
    pathStyle: z.boolean().optional(),
    /**
     * Archives: skip entries of types kube-restore does not restore (GNU sparse files, ...) instead
     * of failing; the job's summary names them. Devices and fifos are refused either way.
     */
    skipUnsupportedEntries: z.boolean().optional(),
    /**
     * At most this many entries (files, links, directories) in one directory of the volume; more is
     * INVALID_ARCHIVE, before the entry is written. Default DEFAULT_MAX_ENTRIES_PER_DIRECTORY.
     */
    maxEntriesPerDirectory: z
      .number()
      .int()
      .min(1)
      .max(MAX_ENTRIES_PER_DIRECTORY_LIMIT)
      .optional(),
    /** A ConfigMap in the target namespace holding a PEM CA bundle for the endpoint. */
    caBundle: z
      .object({
        configMap: dnsSubdomain(),
        key: z.string().min(1).default('ca.crt'),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((source, ctx) => {
    if (source.prefix !== undefined && source.key !== undefined) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['key'],
        message: 'give either prefix or key, not both',
      });
    }
    if (source.key === '') {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['key'],
        message: 'must not be empty',
      });
    }
    if (source.key !== undefined && source.key.endsWith('/')) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['key'],
        message: 'a key must not end with "/"; use prefix',
      });
    }
    if (source.prefix && !source.prefix.endsWith('/')) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['prefix'],
        message: 'a prefix must end with "/"',
      });
    }
    if (source.format === 'tar' && source.key === undefined) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['format'],
        message: 'format "tar" needs a key (the archive)',
      });
    }
  })
  .transform(source => ({
    ...source,
    prefix: source.key === undefined ? (source.prefix ?? '') : undefined,
    pathStyle: source.pathStyle ?? source.endpoint !== undefined,
    format:
      source.format === 'auto' &&
      source.key !== undefined &&
      looksLikeArchive(source.key)
        ? ('tar' as const)
        : source.format,
  }));

export const targetSchema = z
  .object({
    namespace: dnsLabel(),
    pvc: dnsSubdomain(),
    /** `new`: kube-restore creates the PVC; `existing`: restore into a PVC that is already there. */
    mode: z.enum(['new', 'existing']).default('new'),
    /** Size of a new PVC: a quantity, or `auto` (sized from the source). */
    size: z.union([z.literal('auto'), quantityString()]).default('auto'),
    storageClassName: dnsSubdomain().optional(),
    accessModes: z
      .array(z.enum(ACCESS_MODES))
      .min(1)
      .max(4)
      .default(['ReadWriteOnce']),
    /** What to do with files already in the volume. */
    conflict: z.enum(CONFLICT_POLICIES).default('fail'),
  })
  .strict()
  .superRefine((target, ctx) => {
    if (target.mode === 'existing' && target.size !== 'auto') {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['size'],
        message: 'an existing PVC is never resized; leave size unset',
      });
    }
    if (target.mode === 'existing' && target.storageClassName !== undefined) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['storageClassName'],
        message: 'only a new PVC takes a storage class',
      });
    }
  });

/** A key of a Secret's data, as the apiserver allows it (the names in `kubectl create secret`). */
const secretKeyName = () =>
  z
    .string()
    .max(253)
    .regex(
      /^[-._a-zA-Z0-9]+$/,
      'must be a Secret key: letters, digits, "-", "_" and "." only',
    );

export const credentialsSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('secret'),
      secretName: dnsSubdomain(),
      accessKeyIdKey: secretKeyName().default('AWS_ACCESS_KEY_ID'),
      secretAccessKeyKey: secretKeyName().default('AWS_SECRET_ACCESS_KEY'),
      sessionTokenKey: secretKeyName().optional(),
    })
    .strict(),
  z
    .object({
      /** Web identity (IRSA and the like): the pod runs as this ServiceAccount. */
      type: z.literal('serviceAccount'),
      serviceAccountName: dnsSubdomain(),
    })
    .strict(),
  /**
   * The node's own identity (its instance role, through instance metadata), by name: no other type
   * ever falls through to it.
   */
  z.object({ type: z.literal('nodeIdentity') }).strict(),
  /** A public bucket: unsigned requests, no credentials looked for. */
  z.object({ type: z.literal('anonymous') }).strict(),
  /** Nothing in the request: the job uses only keys handed to it in its environment, never the node's role. */
  z.object({ type: z.literal('none') }).strict(),
]);

/**
 * Where the shards of an Indexed Job split the key space, chosen when the restore is created (core
 * lists the source once): shard i restores the keys in (bounds[i-1], bounds[i]], the first shard
 * everything up to bounds[0], the last everything after the last bound. Keys are compared as S3
 * orders them, by their UTF-8 bytes. Without it, every shard lists the whole prefix and keeps the
 * keys whose hash falls in its shard.
 */
export const shardsSchema = z
  .object({
    bounds: z.array(s3Path).min(1).max(63),
  })
  .strict();

/** S3's key order: by UTF-8 bytes, i.e. by code points (JavaScript's `<` compares UTF-16 units). */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** Surrogates (code points above U+FFFF) rank above U+E000-U+FFFF, as in UTF-8. */
function codePointRank(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  return unit >= 0xe000 ? unit - 0x800 : unit;
}

/** What is wrong with `shards` for this request, as [path, message] pairs. */
function shardsProblems(request: {
  source: { prefix?: string; key?: string };
  options: { parallelism: number };
  shards?: { bounds: string[] };
}): Array<[Array<string | number>, string]> {
  const { shards, options, source } = request;
  if (!shards) return [];
  if (source.key !== undefined || options.parallelism <= 1)
    return [
      [
        ['shards'],
        'shard bounds need a prefix and options.parallelism above 1',
      ],
    ];
  const problems: Array<[Array<string | number>, string]> = [];
  const { bounds } = shards;
  if (bounds.length !== options.parallelism - 1)
    problems.push([
      ['shards', 'bounds'],
      `must hold options.parallelism - 1 = ${options.parallelism - 1} keys (got ${bounds.length})`,
    ]);
  const prefix = source.prefix ?? '';
  bounds.forEach((bound, i) => {
    if (!bound.startsWith(prefix))
      problems.push([
        ['shards', 'bounds', i],
        `"${bound}" is not under the prefix "${prefix}"`,
      ]);
    if (i > 0 && compareKeys(bounds[i - 1], bound) >= 0)
      problems.push([
        ['shards', 'bounds', i],
        `"${bound}" must sort after "${bounds[i - 1]}" (bounds ascend strictly, in S3's key order)`,
      ]);
  });
  return problems;
}

export const restoreRequestSchema = z
  .object({
    apiVersion: z.literal(REQUEST_API_VERSION).default(REQUEST_API_VERSION),
    name: dnsLabel(MAX_RESTORE_NAME_LENGTH).optional(),
    source: sourceSchema,
    target: targetSchema,
    credentials: credentialsSchema.default({ type: 'none' }),
    options: optionsSchema.default({}),
    /** Set by core when it creates a sharded restore; see shardsSchema. */
    shards: shardsSchema.optional(),
  })
  .strict()
  .superRefine((request, ctx) => {
    for (const [path, message] of shardsProblems(request))
      ctx.addIssue({ code: z.ZodIssueCode.custom, path, message });
    if (request.options.parallelism > 1 && request.source.key !== undefined) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['options', 'parallelism'],
        message:
          'a single object or archive cannot be sharded; use parallelism 1',
      });
    }
  });

/** What callers write: defaults may be left out. */
export type RestoreRequestInput = z.input<typeof restoreRequestSchema>;
/** What the schema returns: defaults applied, source normalised. */
export type RestoreRequest = z.output<typeof restoreRequestSchema>;
export type RestoreSource = RestoreRequest['source'];
export type RestoreTarget = RestoreRequest['target'];
export type RestoreCredentials = RestoreRequest['credentials'];

/** Validates and normalises a request; throws RestoreRequestError naming every bad field. */
export function parseRestoreRequest(
  input: unknown,
  options: ParseOptions = {},
): RestoreRequest {
  const result = safeParseRestoreRequest(input, options);
  if (!result.ok) throw new RestoreRequestError(result.problems);
  return result.request;
}

export function safeParseRestoreRequest(
  input: unknown,
  options: ParseOptions = {},
):
  | { ok: true; request: RestoreRequest }
  | { ok: false; problems: FieldProblem[] } {
  const result = restoreRequestSchema.safeParse(input);
  if (!result.success)
    return { ok: false, problems: zodProblems(result.error) };
  const problems = options.allowSpecialModeBits
    ? []
    : specialModeBitsProblems(result.data.options.owner);
  return problems.length > 0
    ? { ok: false, problems }
    : { ok: true, request: result.data };
}

/** The name the restore gets: the request's own, or one derived deterministically from it. */
export function restoreNameOf(request: RestoreRequest): string {
  if (request.name) return request.name;
  // Shard bounds come from listing the source when the restore is created: not part of what it is.
  const { name: _name, shards: _shards, ...rest } = request;
  return deriveRestoreName(request.target.pvc, withDefaultConcurrency(rest));
}

/**
 * Source fields from a URL (`s3://bucket/prefix/`, `https://host/bucket/key.tar.gz`), for the
 * `--from` flag and the portal's source picker. Throws SourceUrlError naming the value.
 */
export function sourceFromUrl(
  value: string,
): Pick<
  RestoreRequestInput['source'],
  'bucket' | 'prefix' | 'key' | 'endpoint' | 'pathStyle' | 'format'
> {
  const parsed = parseSourceUrl(value);
  return {
    bucket: parsed.bucket,
    ...(parsed.key !== undefined
      ? { key: parsed.key }
      : { prefix: parsed.prefix }),
    ...(parsed.endpoint ? { endpoint: parsed.endpoint, pathStyle: true } : {}),
    ...(parsed.format ? { format: parsed.format } : {}),
  };
}

export { SourceUrlError };
