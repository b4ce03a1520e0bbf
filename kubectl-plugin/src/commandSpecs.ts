/**
 * The commands as the shell offers them: names, help, positionals, flags and examples. Data only: the
 * shell builds yargs from it (cli.ts), and shell completion reads it (commands/complete.ts).
 */
import type { FlagTable } from './flagTable';
import {
  CREATE_FLAGS,
  DELETE_FLAGS,
  EXISTS_FLAGS,
  LIST_FLAGS,
  LOGS_FLAGS,
  REQUEST_FLAGS,
  APPLY_FLAGS,
  WAIT_FLAGS,
} from './flags';

export interface CommandSpec {
  /** The name, then its aliases. */
  names: readonly string[];
  /** yargs' positional syntax after the name: `[name]`, `<name>`, `<names..>`. */
  args?: string;
  /** false: hidden (not in help, not completed). */
  describe: string | false;
  positional?: { name: string; array?: true; describe?: string };
  flags: FlagTable;
  examples?: readonly (readonly [string, string])[];
  /** Its argument is a restore name (completion lists the namespace's restores). */
  takesRestore?: boolean;
}

/** One example without a description. */
const example = (text: string): CommandSpec['examples'] => [[text, '']];

export const COMMAND_SPECS: readonly CommandSpec[] = [
  {
    names: ['create'],
    args: '[name]',
    describe:
      'restore a PVC from S3 (creates the PVC, a Job and optionally a Secret)',
    positional: {
      name: 'name',
      describe: 'restore name (default: derived from the request)',
    },
    flags: CREATE_FLAGS,
    examples: [
      [
        'kubectl restore create --from s3://backups/team-a/data/ --to pvc/data --size auto --secret s3-creds --wait',
        'restore a prefix into a new PVC and wait',
      ],
      [
        'kubectl restore create --from s3://backups/db.tar.gz --to pvc/db --existing-pvc --conflict overwrite',
        'unpack an archive into an existing PVC',
      ],
      [
        'kubectl restore create --from s3://b/p/ --to pvc/data --size 10Gi --dry-run=client -o yaml',
        'print the manifests',
      ],
      [
        'kubectl restore create seed --from s3://b/p/ --to pvc/data --size 10Gi --secret s3-creds --declarative -o yaml',
        'print a RestoreSource and its PVC to commit to Git',
      ],
    ],
  },
  {
    names: ['create-namespace'],
    describe:
      'restore every PVC found under a prefix (<prefix>/<pvc>/...) into the namespace',
    flags: { ...REQUEST_FLAGS, ...APPLY_FLAGS },
    examples: [
      [
        'kubectl restore create-namespace --from s3://backups/team-a/ -n team-a --size auto --secret s3-creds',
        'one restore per PVC folder',
      ],
    ],
  },
  {
    names: ['plan', 'size'],
    describe:
      'size the source and check the target and your access; creates nothing',
    flags: REQUEST_FLAGS,
    examples: [
      [
        'kubectl restore plan --from s3://backups/team-a/data/ --to pvc/data',
        'what a restore would need',
      ],
    ],
  },
  {
    names: ['status'],
    args: '<name>',
    describe: 'phase, progress, rate, ETA, error of a restore',
    positional: { name: 'name' },
    flags: {},
    examples: example('kubectl restore status restore-data-1a2b3c4d -n team-a'),
    takesRestore: true,
  },
  {
    names: ['describe'],
    args: '<name>',
    describe: 'status plus pods, times and recent events',
    positional: { name: 'name' },
    flags: {},
    examples: example('kubectl restore describe restore-data-1a2b3c4d'),
    takesRestore: true,
  },
  {
    names: ['list', 'get', 'ls'],
    describe: 'list restores',
    flags: LIST_FLAGS,
    examples: [
      ['kubectl restore list -A -o wide', 'every restore you may see'],
    ],
  },
  {
    names: ['logs'],
    args: '<name>',
    describe: "the restore job's log, rendered (--raw: the JSON lines)",
    positional: { name: 'name' },
    flags: LOGS_FLAGS,
    examples: example('kubectl restore logs restore-data-1a2b3c4d -f'),
    takesRestore: true,
  },
  {
    names: ['wait'],
    args: '<name>',
    describe: 'wait for a restore to reach a phase (default Succeeded)',
    positional: { name: 'name' },
    flags: WAIT_FLAGS,
    examples: example(
      'kubectl restore wait restore-data-1a2b3c4d --timeout 30m',
    ),
    takesRestore: true,
  },
  {
    names: ['delete'],
    args: '<names..>',
    describe:
      'delete restores (Job, pods, owned Secret); the PVC stays unless --keep-pvc=false',
    positional: { name: 'names', array: true },
    flags: DELETE_FLAGS,
    examples: example(
      'kubectl restore delete restore-data-1a2b3c4d --keep-pvc=false',
    ),
    takesRestore: true,
  },
  {
    names: ['exists'],
    args: '<target>',
    describe:
      'does a backup exist for NAMESPACE/PVC? exit 0 restore, 10 fresh, 11 unknown',
    positional: { name: 'target', describe: 'NAMESPACE/PVC' },
    flags: EXISTS_FLAGS,
    examples: example(
      "kubectl restore exists team-a/data --from 's3://backups/${namespace}/${pvc}/'",
    ),
  },
  { names: ['version'], describe: 'print the plugin version', flags: {} },
  {
    names: ['completion'],
    describe:
      'print a bash/zsh completion script (kubectl also uses kubectl_complete-restore)',
    flags: {},
  },
  { names: ['__complete'], describe: false, flags: {} },
];

/** The spec of a command or alias, if there is one. */
export function commandSpec(name: string): CommandSpec | undefined {
  return COMMAND_SPECS.find(c => c.names.includes(name));
}
