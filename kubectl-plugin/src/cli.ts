/**
 * The yargs shell: kubectl-style flags, help that reads `kubectl restore ...`, one-line errors with
 * documented exit codes. The commands and their flags are tables (commandSpecs.ts, flags.ts); command
 * modules (and with them core and the Kubernetes client) load only in the handler that needs them, so
 * `--help` and `version` start fast.
 */
import type { Argv } from 'yargs';
import { COMMAND_SPECS, CommandSpec } from './commandSpecs';
import { versionCommand } from './commands/version';
import { CliError, EXIT, exitCodeOf, formatError } from './errors';
import { list, readFlags, str, yargsOptions } from './flagTable';
import { GLOBAL_FLAGS } from './flags';
import { CommandIo, processIo } from './io';
import type { GlobalOptions, SessionFactory } from './session';

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

/** A session whose connection (and the commands bundle) is made on first use. */
function lazySession(options: GlobalOptions): SessionFactory {
  let factory: SessionFactory | undefined;
  return async () => {
    factory ??= (await commands()).sessionFactory(options);
    return factory();
  };
}

/** What each command does with its parsed flags (the specs say which flags those are). */
const HANDLERS: Record<string, (spec: CommandSpec, argv: string[]) => Handler> =
  {
    create: spec => async (a, io, s) =>
      (await commands()).createCommand(
        {
          ...readFlags(spec.flags, a),
          output: str(a.output),
          name: str(a.name),
        },
        io,
        s,
      ),
    'create-namespace': spec => async (a, io, s) =>
      (await commands()).createNamespaceCommand(
        { ...readFlags(spec.flags, a), output: str(a.output) },
        io,
        s,
      ),
    plan: spec => async (a, io, s) =>
      (await commands()).planCommand(
        { ...readFlags(spec.flags, a), output: str(a.output) },
        io,
        s,
      ),
    status: () => async (a, io, s) =>
      (await commands()).statusCommand(
        { name: str(a.name), output: str(a.output) },
        io,
        s,
      ),
    describe: () => async (a, io, s) =>
      (await commands()).describeCommand(
        { name: str(a.name), output: str(a.output) },
        io,
        s,
      ),
    list: spec => async (a, io, s) =>
      (await commands()).listCommand(
        {
          ...readFlags(spec.flags, a),
          allNamespaces: !!a['all-namespaces'],
          output: str(a.output),
        },
        io,
        s,
      ),
    logs: spec => async (a, io, s) => {
      const flags = readFlags(spec.flags, a);
      return (await commands()).logsCommand(
        {
          ...flags,
          name: str(a.name),
          follow: !!flags.follow,
          raw: !!flags.raw,
        },
        io,
        s,
      );
    },
    wait: spec => async (a, io, s) =>
      (await commands()).waitCommand(
        {
          ...readFlags(spec.flags, a),
          name: str(a.name),
          output: str(a.output),
        },
        io,
        s,
      ),
    delete: () => async (a, io, s) =>
      (await commands()).deleteCommand(
        {
          names: list(a.names),
          keepPvc: a['keep-pvc'] as boolean,
          ignoreNotFound: !!a['ignore-not-found'],
        },
        io,
        s,
      ),
    exists: spec => async (a, io) =>
      (await commands()).existsCommand(
        {
          ...readFlags(spec.flags, a),
          target: str(a.target),
          output: str(a.output),
          namespace: str(a.namespace),
        },
        io,
      ),
    version: () => async (a, io) =>
      versionCommand({ output: str(a.output) }, io),
    completion: () => async (_a, io) => {
      io.stdout.write((await commands()).COMPLETION_SCRIPT);
      return EXIT.OK;
    },
    // the words as typed: yargs would take `--fr` for a flag of its own
    __complete: (_spec, argv) => async (_a, io, s) =>
      (await commands()).completeCommand(
        argv.slice(argv.indexOf('__complete') + 1),
        io,
        s,
      ),
  };

/** Builds the parser; `run` is called with the chosen handler. */
export function buildParser(
  argv: string[],
  run: (handler: Handler, args: Args) => void,
): Argv {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const yargs = require('yargs/yargs') as (args: string[]) => Argv;
  let parser = yargs(argv)
    .scriptName('kubectl restore')
    .usage(
      'kubectl restore: seed PersistentVolumeClaims from S3.\n\nUsage: kubectl restore COMMAND [options]',
    )
    .options(yargsOptions(GLOBAL_FLAGS, { global: true }));
  for (const spec of COMMAND_SPECS) {
    const [name, ...aliases] = spec.names;
    const handler = HANDLERS[name](spec, argv);
    parser = parser.command(
      [`${name}${spec.args ? ` ${spec.args}` : ''}`, ...aliases],
      spec.describe as string,
      y => {
        let c = y;
        if (spec.positional) {
          const { name: key, ...rest } = spec.positional;
          c = c.positional(key, { type: 'string', ...rest });
        }
        c = c.options(yargsOptions(spec.flags));
        for (const [text, what] of spec.examples ?? [])
          c = c.example(text, what);
        return spec.describe === false ? c.strict(false) : c;
      },
      args => run(handler, args as Args),
    );
  }
  return parser
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
      pending = track(handler(args, io, lazySession(globals(args))));
    });
    await parser.parseAsync();
    return pending ? await pending : EXIT.OK;
  } catch (error) {
    io.stderr.write(formatError(error, verbose));
    return exitCodeOf(error);
  }
}
