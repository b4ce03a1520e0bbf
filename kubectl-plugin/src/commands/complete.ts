/**
 * Shell completion. kubectl (1.26+) completes plugin arguments by running `kubectl_complete-restore ARGS... TOCOMPLETE`
 * and reads Cobra's protocol: one candidate a line, then `:DIRECTIVE`. `kubectl restore completion` prints
 * a script for a stand-alone `kubectl-restore`.
 */
import { listRestores } from '@kube-restore/core';
import { COMMAND_SPECS, commandSpec } from '../commandSpecs';
import { EXIT } from '../errors';
import { FlagSpec, FlagTable } from '../flagTable';
import { GLOBAL_FLAGS } from '../flags';
import { CommandIo } from '../io';
import { SessionFactory } from '../session';

/** Command names and aliases, in the order of the help. */
export const COMMANDS = COMMAND_SPECS.filter(c => c.describe !== false).flatMap(
  c => c.names,
);
/** Cobra's ShellCompDirectiveNoFileComp. */
const NO_FILES = 4;

export const COMPLETION_SCRIPT = `# kubectl-restore completion (bash): source <(kubectl-restore completion)
_kubectl_restore() {
  local IFS=$'\\n'
  COMPREPLY=( $(kubectl-restore __complete "\${COMP_WORDS[@]:1:COMP_CWORD-1}" "\${COMP_WORDS[COMP_CWORD]}" 2>/dev/null | grep -v '^:') )
}
complete -F _kubectl_restore kubectl-restore
`;

/** `--flag` names of a command (its own, then the global ones). */
function flagNames(flags: FlagTable): string[] {
  return Object.keys({ ...flags, ...GLOBAL_FLAGS }).map(f =>
    f.length === 1 ? `-${f}` : `--${f}`,
  );
}

function flagSpec(flags: FlagTable, flag: string): FlagSpec | undefined {
  const all: FlagTable = { ...flags, ...GLOBAL_FLAGS };
  const name = flag.replace(/^--?/, '');
  return all[name] ?? Object.values(all).find(s => s.alias === name);
}

/** The values a flag takes, when the table lists them (`--format=` or `--format` then a word). */
function flagValues(flags: FlagTable, flag: string): string[] | undefined {
  const values = flagSpec(flags, flag)?.values;
  return values ? [...values] : undefined;
}

export async function completeCommand(
  words: string[],
  io: CommandIo,
  session: SessionFactory,
): Promise<number> {
  const toComplete = words.at(-1) ?? '';
  // the words before, without flags and the values of string flags
  const before: string[] = [];
  const typed = words.slice(0, -1);
  for (let i = 0; i < typed.length; i++) {
    const w = typed[i];
    if (!w.startsWith('-')) before.push(w);
    else if (
      !w.includes('=') &&
      flagSpec(commandSpec(before[0] ?? '')?.flags ?? {}, w)?.type === 'string'
    )
      i++;
  }
  const done = (items: string[]) => {
    for (const item of items.filter(i => i.startsWith(toComplete)))
      io.stdout.write(`${item}\n`);
    io.stdout.write(`:${NO_FILES}\n`);
    return EXIT.OK;
  };
  if (before.length === 0 && !toComplete.startsWith('-')) return done(COMMANDS);
  const spec = commandSpec(before[0] ?? '');
  const flags = spec?.flags ?? {};
  const assigned = /^(--?[\w-]+)=(.*)$/.exec(toComplete);
  if (assigned) {
    const values = flagValues(flags, assigned[1]) ?? [];
    return done(values.map(v => `${assigned[1]}=${v}`));
  }
  const previous = words.at(-2);
  if (previous?.startsWith('-') && !toComplete.startsWith('-')) {
    const taken = flagSpec(flags, previous);
    if (taken?.type === 'string' && !previous.includes('='))
      return done(taken.values ? [...taken.values] : []);
  }
  if (toComplete.startsWith('-')) return done(flagNames(flags));
  if (spec?.takesRestore) {
    try {
      const { clients, namespace } = await session();
      return done(
        (await listRestores(clients, { namespace })).map(s => s.name),
      );
    } catch {
      return done([]);
    }
  }
  return done([]);
}
