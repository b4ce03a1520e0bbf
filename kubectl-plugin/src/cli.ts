/**
 * The yargs shell: kubectl-style flags, help that reads `kubectl restore ...`, one-line errors with
 * documented exit codes. Command modules (and with them core and the Kubernetes client) load only in
 * the handler that needs them, so `--help` and `version` start fast.
 */
import type { Argv } from 'yargs';
import { versionCommand } from './commands/version';
import { CliError, EXIT, exitCodeOf, formatError } from './errors';
import { CommandIo, processIo } from './io';
import { GlobalOptions, SessionFactory, sessionFactory } from './session';

type Args = Record<string, unknown> & { _: (string | number)[] };
type Handler = (
  args: Args,
  io: CommandIo,
  session: SessionFactory,
) => Promise<number>;

/** The command modules, loaded on first use: core and the Kubernetes client come with them. */
// `require`, not `import()`: jest runs CommonJS, and the bundle maps it to dist/kubectl-restore-commands.cjs.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const commands = async () =>
  require('./commands') as typeof import('./commands');

const str = (v: unknown) =>
  v === undefined || v === null ? undefined : String(v);
const list = (v: unknown) =>
  v === undefined ? undefined : (Array.isArray(v) ? v : [v]).map(String);

function globals(args: Args): GlobalOptions {
  return {
    kubeconfig: str(args.kubeconfig),
    context: str(args.context),
    namespace: str(args.namespace),
    allNamespaces: !!args['all-namespaces'],
    requestTimeout: str(args['request-timeout']),
    verbose: args.v !== undefined ? 1 : 0,
  };
}

const SOURCE_OPTIONS = {
  from: {
    type: 'string',
    describe:
      's3://BUCKET/PREFIX/, s3://BUCKET/KEY.tar.gz or https://ENDPOINT/BUCKET/PREFIX/',
  },
  endpoint: {
    type: 'string',
    describe: 'S3-compatible endpoint (https://host:port); default AWS S3',
  },
  region: { type: 'string', describe: 'S3 region (default us-east-1)' },
  'path-style': {
    type: 'boolean',
    describe: 'path-style bucket addressing (default: on with --endpoint)',
  },
  format: {
    type: 'string',
    describe: 'objects | tar | auto (default auto: by the key)',
  },
  include: {
    type: 'string',
    array: true,
    describe: 'only keys matching this glob (repeatable)',
  },
  exclude: {
    type: 'string',
    array: true,
    describe: 'skip keys matching this glob (repeatable)',
  },
  'strip-prefix': {
    type: 'string',
    describe: 'remove this path from the front of each key',
  },
  'as-of': {
    type: 'string',
    describe:
      'newest object versions at or before this time (versioned buckets)',
  },
  'archive-tier': {
    type: 'string',
    describe:
      'Expedited | Standard | Bulk | fail: thaw Glacier objects, or fail (default)',
  },
} as const;

/** Flags of the commands that create restores (create, create-namespace). */
const APPLY_OPTIONS = {
  image: { type: 'string', describe: 'job image' },
  'dry-run': {
    type: 'string',
    describe:
      'client: print the manifests; server: let the API server validate them',
  },
  wait: {
    type: 'boolean',
    describe: 'wait until the restore(s) end, with live progress',
  },
  timeout: {
    type: 'string',
    describe: 'with --wait: give up waiting after this long',
  },
} as const;

function applyFlags(a: Args) {
  return {
    image: str(a.image),
    dryRun: dryRunOf(a['dry-run']),
    output: str(a.output),
    wait: a.wait as boolean | undefined,
    timeout: str(a.timeout),
  };
}

const REQUEST_OPTIONS = {
  ...SOURCE_OPTIONS,
  to: { type: 'string', describe: 'target PVC: pvc/NAME' },
  size: {
    type: 'string',
    describe:
      'size of a new PVC: auto (from the source) or a quantity such as 10Gi',
  },
  'storage-class': { type: 'string', describe: 'storage class of a new PVC' },
  'access-mode': {
    type: 'string',
    array: true,
    describe: 'access mode of a new PVC (repeatable; default ReadWriteOnce)',
  },
  'existing-pvc': {
    type: 'boolean',
    describe: 'restore into a PVC that exists already',
  },
  conflict: {
    type: 'string',
    describe: 'with --existing-pvc: fail | skip-existing | overwrite',
  },
  secret: {
    type: 'string',
    describe:
      'Secret in the namespace with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
  },
  'credentials-from-env': {
    type: 'boolean',
    describe:
      'store $AWS_ACCESS_KEY_ID/$AWS_SECRET_ACCESS_KEY/$AWS_SESSION_TOKEN in a Secret owned by the Job',
  },
  'service-account': {
    type: 'string',
    describe: 'run the pod as this ServiceAccount (web identity, IRSA)',
  },
  uid: { type: 'string', describe: 'user id the files are written as' },
  gid: { type: 'string', describe: 'group id the files are written as' },
  'fs-group': { type: 'string', describe: 'fsGroup of the pod' },
  'file-mode': {
    type: 'string',
    describe: 'mode of restored files, e.g. 0644',
  },
  'dir-mode': {
    type: 'string',
    describe: 'mode of restored directories, e.g. 0755',
  },
  ttl: {
    type: 'string',
    describe: 'delete the finished Job after this long (default 24h)',
  },
  deadline: { type: 'string', describe: 'fail the restore after this long' },
  bandwidth: {
    type: 'string',
    describe: 'bytes per second per pod, as a quantity (50Mi)',
  },
  parallelism: {
    type: 'string',
    describe: 'pods of an Indexed Job sharing the keys (default 1)',
  },
  concurrency: {
    type: 'string',
    describe: 'transfers in flight in each pod (default 16)',
  },
  'backoff-limit': {
    type: 'string',
    describe: 'retries of a failed pod (default 3)',
  },
  verify: {
    type: 'boolean',
    describe: 'verify sizes and checksums (default true)',
  },
  'allow-empty': {
    type: 'boolean',
    describe: 'succeed when no object matches',
  },
} as const;

function requestFlags(a: Args) {
  return {
    from: str(a.from),
    endpoint: str(a.endpoint),
    region: str(a.region),
    pathStyle: a['path-style'] as boolean | undefined,
    format: str(a.format),
    include: list(a.include),
    exclude: list(a.exclude),
    stripPrefix: str(a['strip-prefix']),
    asOf: str(a['as-of']),
    archiveTier: str(a['archive-tier']),
    to: str(a.to),
    size: str(a.size),
    storageClass: str(a['storage-class']),
    accessMode: list(a['access-mode']),
    existingPvc: a['existing-pvc'] as boolean | undefined,
    conflict: str(a.conflict),
    secret: str(a.secret),
    credentialsFromEnv: a['credentials-from-env'] as boolean | undefined,
    serviceAccount: str(a['service-account']),
    uid: str(a.uid),
    gid: str(a.gid),
    fsGroup: str(a['fs-group']),
    fileMode: str(a['file-mode']),
    dirMode: str(a['dir-mode']),
    ttl: str(a.ttl),
    deadline: str(a.deadline),
    bandwidth: str(a.bandwidth),
    parallelism: str(a.parallelism),
    concurrency: str(a.concurrency),
    backoffLimit: str(a['backoff-limit']),
    verify: a.verify as boolean | undefined,
    allowEmpty: a['allow-empty'] as boolean | undefined,
  };
}

/** `--dry-run` alone means client, as in kubectl. */
function dryRunOf(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (v === '' || v === true) return 'client';
  return String(v);
}

/** Builds the parser; `run` is called with the chosen handler. */
export function buildParser(
  argv: string[],
  run: (handler: Handler, args: Args) => void,
): Argv {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const yargs = require('yargs/yargs') as (args: string[]) => Argv;
  const cmd = (handler: Handler) => (args: unknown) =>
    run(handler, args as Args);
  return yargs(argv)
    .scriptName('kubectl restore')
    .usage(
      'kubectl restore: seed PersistentVolumeClaims from S3.\n\nUsage: kubectl restore COMMAND [options]',
    )
    .option('kubeconfig', {
      type: 'string',
      describe: 'path to the kubeconfig file',
      global: true,
    })
    .option('context', {
      type: 'string',
      describe: 'kubeconfig context to use',
      global: true,
    })
    .option('namespace', {
      alias: 'n',
      type: 'string',
      describe: 'namespace (default: from the context, else default)',
      global: true,
    })
    .option('all-namespaces', {
      alias: 'A',
      type: 'boolean',
      describe: 'list across all namespaces',
      global: true,
    })
    .option('request-timeout', {
      type: 'string',
      describe: 'limit for each API request (30s, 1m; 0 = none)',
      global: true,
    })
    .option('output', {
      alias: 'o',
      type: 'string',
      describe: 'json | yaml | name | wide (per command)',
      global: true,
    })
    .option('v', {
      type: 'string',
      describe: 'verbose: stack traces on errors',
      global: true,
    })
    .command(
      'create [name]',
      'restore a PVC from S3 (creates the PVC, a Job and optionally a Secret)',
      y =>
        y
          .positional('name', {
            type: 'string',
            describe: 'restore name (default: derived from the request)',
          })
          .options(REQUEST_OPTIONS)
          .options(APPLY_OPTIONS)
          .option('image-pull-policy', {
            type: 'string',
            describe: 'Always | IfNotPresent | Never',
          })
          .example(
            'kubectl restore create --from s3://backups/team-a/data/ --to pvc/data --size auto --secret s3-creds --wait',
            'restore a prefix into a new PVC and wait',
          )
          .example(
            'kubectl restore create --from s3://backups/db.tar.gz --to pvc/db --existing-pvc --conflict overwrite',
            'unpack an archive into an existing PVC',
          )
          .example(
            'kubectl restore create --from s3://b/p/ --to pvc/data --size 10Gi --dry-run=client -o yaml',
            'print the manifests',
          ),
      cmd(async (a, io, s) => {
        const { createCommand } = await commands();
        return createCommand(
          {
            ...requestFlags(a),
            ...applyFlags(a),
            name: str(a.name),
            imagePullPolicy: str(a['image-pull-policy']),
          },
          io,
          s,
        );
      }),
    )
    .command(
      'create-namespace',
      'restore every PVC found under a prefix (<prefix>/<pvc>/...) into the namespace',
      y =>
        y
          .options(REQUEST_OPTIONS)
          .options(APPLY_OPTIONS)
          .example(
            'kubectl restore create-namespace --from s3://backups/team-a/ -n team-a --size auto --secret s3-creds',
            'one restore per PVC folder',
          ),
      cmd(async (a, io, s) => {
        const { createNamespaceCommand } = await commands();
        return createNamespaceCommand(
          {
            ...requestFlags(a),
            ...applyFlags(a),
          },
          io,
          s,
        );
      }),
    )
    .command(
      ['plan', 'size'],
      'size the source and check the target and your access; creates nothing',
      y =>
        y
          .options(REQUEST_OPTIONS)
          .example(
            'kubectl restore plan --from s3://backups/team-a/data/ --to pvc/data',
            'what a restore would need',
          ),
      cmd(async (a, io, s) => {
        const { planCommand } = await commands();
        return planCommand(
          { ...requestFlags(a), output: str(a.output) },
          io,
          s,
        );
      }),
    )
    .command(
      'status <name>',
      'phase, progress, rate, ETA, error of a restore',
      y =>
        y
          .positional('name', { type: 'string' })
          .example(
            'kubectl restore status restore-data-1a2b3c4d -n team-a',
            '',
          ),
      cmd(async (a, io, s) =>
        (await commands()).statusCommand(
          { name: str(a.name), output: str(a.output) },
          io,
          s,
        ),
      ),
    )
    .command(
      'describe <name>',
      'status plus pods, times and recent events',
      y =>
        y
          .positional('name', { type: 'string' })
          .example('kubectl restore describe restore-data-1a2b3c4d', ''),
      cmd(async (a, io, s) =>
        (await commands()).describeCommand(
          { name: str(a.name), output: str(a.output) },
          io,
          s,
        ),
      ),
    )
    .command(
      ['list', 'get', 'ls'],
      'list restores',
      y =>
        y
          .option('selector', {
            alias: 'l',
            type: 'string',
            describe: 'label selector',
          })
          .example(
            'kubectl restore list -A -o wide',
            'every restore you may see',
          ),
      cmd(async (a, io, s) =>
        (await commands()).listCommand(
          {
            allNamespaces: !!a['all-namespaces'],
            selector: str(a.selector),
            output: str(a.output),
          },
          io,
          s,
        ),
      ),
    )
    .command(
      'logs <name>',
      "the restore job's log, rendered (--raw: the JSON lines)",
      y =>
        y
          .positional('name', { type: 'string' })
          .option('follow', {
            alias: 'f',
            type: 'boolean',
            describe: 'stream the log as it is written',
          })
          .option('raw', {
            type: 'boolean',
            describe: 'print the JSON lines as they are',
          })
          .option('tail', {
            type: 'string',
            describe: 'lines from the end (-1: all)',
          })
          .example('kubectl restore logs restore-data-1a2b3c4d -f', ''),
      cmd(async (a, io, s) =>
        (await commands()).logsCommand(
          {
            name: str(a.name),
            follow: !!a.follow,
            raw: !!a.raw,
            tail: str(a.tail),
          },
          io,
          s,
        ),
      ),
    )
    .command(
      'wait <name>',
      'wait for a restore to reach a phase (default Succeeded)',
      y =>
        y
          .positional('name', { type: 'string' })
          .option('for', {
            type: 'string',
            describe:
              'Planning | Thawing | Restoring | Verifying | Succeeded | Failed',
          })
          .option('timeout', {
            type: 'string',
            describe: 'give up waiting after this long (default: no limit)',
          })
          .example(
            'kubectl restore wait restore-data-1a2b3c4d --timeout 30m',
            '',
          ),
      cmd(async (a, io, s) =>
        (await commands()).waitCommand(
          {
            name: str(a.name),
            for: str(a.for),
            timeout: str(a.timeout),
            output: str(a.output),
          },
          io,
          s,
        ),
      ),
    )
    .command(
      'delete <names..>',
      'delete restores (Job, pods, owned Secret); the PVC stays unless --keep-pvc=false',
      y =>
        y
          .positional('names', { type: 'string', array: true })
          .option('keep-pvc', {
            type: 'boolean',
            default: true,
            describe:
              'keep the PVC (false: delete it if this restore created it)',
          })
          .option('ignore-not-found', {
            type: 'boolean',
            describe: 'no error for missing restores',
          })
          .example(
            'kubectl restore delete restore-data-1a2b3c4d --keep-pvc=false',
            '',
          ),
      cmd(async (a, io, s) =>
        (await commands()).deleteCommand(
          {
            names: list(a.names),
            keepPvc: a['keep-pvc'] as boolean,
            ignoreNotFound: !!a['ignore-not-found'],
          },
          io,
          s,
        ),
      ),
    )
    .command(
      'exists <target>',
      'does a backup exist for NAMESPACE/PVC? exit 0 restore, 10 fresh, 11 unknown',
      y =>
        y
          .positional('target', { type: 'string', describe: 'NAMESPACE/PVC' })
          .option('from', {
            type: 'string',
            describe:
              'backup layout with ${namespace} and ${pvc}, e.g. s3://backups/${namespace}/${pvc}/',
          })
          .option('endpoint', SOURCE_OPTIONS.endpoint)
          .option('region', SOURCE_OPTIONS.region)
          .option('path-style', SOURCE_OPTIONS['path-style'])
          .option('credentials-from-env', {
            type: 'boolean',
            describe: 'read with $AWS_ACCESS_KEY_ID/$AWS_SECRET_ACCESS_KEY',
          })
          .example(
            "kubectl restore exists team-a/data --from 's3://backups/${namespace}/${pvc}/'",
            '',
          ),
      cmd(async (a, io) =>
        (await commands()).existsCommand(
          {
            target: str(a.target),
            from: str(a.from),
            endpoint: str(a.endpoint),
            region: str(a.region),
            pathStyle: a['path-style'] as boolean | undefined,
            credentialsFromEnv: a['credentials-from-env'] as
              boolean | undefined,
            output: str(a.output),
            namespace: str(a.namespace),
          },
          io,
        ),
      ),
    )
    .command(
      'version',
      'print the plugin version',
      y => y,
      cmd(async (a, io) => versionCommand({ output: str(a.output) }, io)),
    )
    .command(
      'completion',
      'print a bash/zsh completion script (kubectl also uses kubectl_complete-restore)',
      y => y,
      cmd(async (_a, io) => {
        io.stdout.write(await completionScript());
        return EXIT.OK;
      }),
    )
    .command(
      '__complete',
      false,
      y => y.strict(false),
      cmd(async (a, io, s) =>
        (await commands()).completeCommand(a._.slice(1).map(String), io, s),
      ),
    )
    .demandCommand(1, 'a command is required: see kubectl restore --help')
    .recommendCommands()
    .strict()
    .help()
    .alias('help', 'h')
    .version(false)
    .exitProcess(false)
    .wrap(Math.min(120, process.stdout.columns || 100))
    .fail((message, error) => {
      const text = /^Did you mean/.test(message ?? '')
        ? `unknown command "${argv[0]}": ${message} (see kubectl restore --help)`
        : message;
      throw error ?? new CliError(text, EXIT.INVALID);
    });
}

async function completionScript(): Promise<string> {
  return (await commands()).COMPLETION_SCRIPT;
}

/** Runs the CLI on `argv` (without node and script); resolves to the exit code. Never throws. */
export async function main(
  argv: string[],
  io: CommandIo = processIo(),
): Promise<number> {
  let pending: Promise<number> | undefined;
  const track = (p: Promise<number>) => {
    p.catch(() => undefined);
    return p;
  };
  let verbose = argv.some(
    a =>
      a === '-v' || a === '--v' || a.startsWith('-v=') || a.startsWith('--v='),
  );
  try {
    const parser = buildParser(argv, (handler, args) => {
      verbose = !!globals(args).verbose;
      pending = track(handler(args, io, sessionFactory(globals(args))));
    });
    await parser.parseAsync();
    return pending ? await pending : EXIT.OK;
  } catch (error) {
    io.stderr.write(formatError(error, verbose));
    return exitCodeOf(error);
  }
}
