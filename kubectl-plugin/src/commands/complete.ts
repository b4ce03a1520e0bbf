/**
 * Shell completion. kubectl (1.26+) completes plugin arguments by running `kubectl_complete-restore ARGS... TOCOMPLETE`
 * and reads Cobra's protocol: one candidate a line, then `:DIRECTIVE`. `kubectl restore completion` prints
 * a script for a stand-alone `kubectl-restore`.
 */
import { listRestores } from '@kube-restore/core';
import { EXIT } from '../errors';
import { CommandIo } from '../io';
import { SessionFactory } from '../session';

export const COMMANDS = [
  'create',
  'create-namespace',
  'plan',
  'size',
  'status',
  'describe',
  'list',
  'get',
  'logs',
  'wait',
  'delete',
  'exists',
  'version',
  'completion',
];
const TAKES_RESTORE = new Set(['status', 'describe', 'logs', 'wait', 'delete']);
/** Cobra's ShellCompDirectiveNoFileComp. */
const NO_FILES = 4;

export const COMPLETION_SCRIPT = `# kubectl-restore completion (bash): source <(kubectl-restore completion)
_kubectl_restore() {
  local IFS=$'\\n'
  COMPREPLY=( $(kubectl-restore __complete "\${COMP_WORDS[@]:1:COMP_CWORD-1}" "\${COMP_WORDS[COMP_CWORD]}" 2>/dev/null | grep -v '^:') )
}
complete -F _kubectl_restore kubectl-restore
`;

export async function completeCommand(
  words: string[],
  io: CommandIo,
  session: SessionFactory,
): Promise<number> {
  const toComplete = words.at(-1) ?? '';
  const before = words.slice(0, -1).filter(w => !w.startsWith('-'));
  const done = (items: string[]) => {
    for (const item of items.filter(i => i.startsWith(toComplete)))
      io.stdout.write(`${item}\n`);
    io.stdout.write(`:${NO_FILES}\n`);
    return EXIT.OK;
  };
  if (before.length === 0) return done(COMMANDS);
  if (TAKES_RESTORE.has(before[0]) && !toComplete.startsWith('-')) {
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
