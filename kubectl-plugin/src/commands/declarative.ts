/**
 * `kubectl restore create NAME ... --declarative`: creates nothing; prints what a plain `kubectl apply -f`
 * turns into a restore (and what to commit to Git): the RestoreSource, the PVC naming it in dataSourceRef,
 * and, only with --print-secret, a Secret holding the keys of --credentials-from-env. The populator
 * (deploy/populator) fills the PVC.
 */
import { buildDeclarativeRestore } from '@kube-restore/core';
import { EXIT, invalid } from '../errors';
import { CommandIo } from '../io';
import { outputFormat, printDocuments } from '../output';
import { parseRequestFlags } from '../request';
import { SessionFactory } from '../session';
import { CreateOptions, prepareCreate } from './prepare';

/** Flags of create that mean nothing when the populator runs the restore, and why. */
const NOT_DECLARATIVE: [keyof CreateOptions, string, string][] = [
  [
    'existingPvc',
    '--existing-pvc',
    'a populator fills only a new PVC (dataSourceRef is read when the PVC is created); restore into a PVC that has data with kubectl restore create, without --declarative',
  ],
  [
    'dryRun',
    '--dry-run',
    '--declarative creates nothing anyway: it prints what to apply',
  ],
  [
    'wait',
    '--wait',
    'nothing runs until the printed YAML is applied; then kubectl restore list shows the populator restore',
  ],
  ['timeout', '--timeout', 'there is nothing to wait for'],
  ['image', '--image', "the populator's deployment chooses the job image"],
  [
    'imagePullPolicy',
    '--image-pull-policy',
    "the populator's deployment chooses the job image",
  ],
];

/** Checks that need no cluster, so a bad combination never gets as far as sizing. */
function validate(options: CreateOptions): 'yaml' | 'json' {
  for (const [key, flag, why] of NOT_DECLARATIVE) {
    if (options[key] !== undefined && options[key] !== false)
      throw invalid(`${flag} with --declarative: ${why}`);
  }
  if (options.credentialsFromEnv && !options.printSecret)
    throw invalid(
      '--credentials-from-env with --declarative would print your keys: add --print-secret to print them in a Secret (keep it out of Git unless encrypted), or name a Secret you manage with --secret',
    );
  if (options.printSecret && !options.credentialsFromEnv)
    throw invalid(
      '--print-secret needs --credentials-from-env: the keys it prints come from the environment',
    );
  const format = outputFormat(options.output, ['yaml', 'json']) ?? 'yaml';
  parseRequestFlags(options, 'default');
  return format;
}

export async function declarativeCommand(
  options: CreateOptions,
  io: CommandIo,
  session: SessionFactory,
): Promise<number> {
  const format = validate(options);
  const { namespace } = await session();
  const { request, credentials, build } = await prepareCreate(
    options,
    namespace,
    io,
  );
  const restore = buildDeclarativeRestore(request, {
    resolvedSize: build.resolvedSize,
    credentials,
  });
  // the Secret first: applied in this order, the restore never starts without its keys
  const documents = [
    ...(restore.secret ? [restore.secret] : []),
    restore.restoreSource,
    restore.pvc,
  ];
  printDocuments(io.stdout, format, documents);
  if (restore.secret)
    io.stderr.write(
      `secret/${restore.secret.metadata!.name} holds your keys in plain text: keep it out of Git unless encrypted (Sealed Secrets, SOPS)\n`,
    );
  return EXIT.OK;
}
