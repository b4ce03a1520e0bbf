/** `kubectl restore delete NAME... [--keep-pvc=true]`: Job, pods and owned Secret; the PVC only with --keep-pvc=false. */
import { deleteRestore } from '@kube-restore/core';
import { EXIT } from '../errors';
import { CommandIo } from '../io';
import { SessionFactory, restoreNameArg } from '../session';

export interface DeleteOptions {
  names?: string[];
  keepPvc?: boolean;
  ignoreNotFound?: boolean;
}

export async function deleteCommand(
  options: DeleteOptions,
  io: CommandIo,
  session: SessionFactory,
): Promise<number> {
  const names = (options.names ?? []).map(n => restoreNameArg(n));
  if (names.length === 0) restoreNameArg(undefined);
  const { clients, namespace } = await session();
  for (const name of names) {
    try {
      const result = await deleteRestore(clients, namespace, name, {
        deletePvc: options.keepPvc === false,
      });
      io.stdout.write(
        `restore/${result.job} deleted${result.pvc ? ` (and persistentvolumeclaim/${result.pvc})` : ''}\n`,
      );
    } catch (error) {
      if (
        options.ignoreNotFound &&
        (error as { kind?: string }).kind === 'NotFound'
      )
        continue;
      throw error;
    }
  }
  return EXIT.OK;
}
