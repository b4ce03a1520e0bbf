/** `kubectl restore list` (alias `get`): `-A`, `-l`, `-o wide|json|yaml|name`. */
import { listRestores } from '@kube-restore/core';
import { EXIT } from '../errors';
import { CommandIo } from '../io';
import { asList, outputFormat, printData } from '../output';
import { withPopulator, withRecordedPopulatorRestores } from '../populated';
import { formatRestoreTable } from '../render';
import { SessionFactory } from '../session';

export interface ListOptions {
  allNamespaces?: boolean;
  selector?: string;
  output?: string;
}

export async function listCommand(
  options: ListOptions,
  io: CommandIo,
  session: SessionFactory,
): Promise<number> {
  const format = outputFormat(options.output, ['wide', 'json', 'yaml', 'name']);
  const { clients, namespace } = await session();
  const where = options.allNamespaces ? undefined : namespace;
  const listed = await listRestores(clients, {
    namespace: where,
    labelSelector: options.selector,
    progress: format !== 'name',
  });
  const withJobs =
    format === 'name' ? listed : await withPopulator(clients, where, listed);
  // finished populator restores (Job and prime PVC gone) carry no labels: none match a selector
  const statuses = options.selector
    ? withJobs
    : await withRecordedPopulatorRestores(clients, where, withJobs);
  if (format === 'json' || format === 'yaml') {
    printData(
      io.stdout,
      format,
      asList(statuses, 'kube-restore.io/v1', 'RestoreStatusList'),
    );
  } else if (format === 'name') {
    for (const s of statuses) io.stdout.write(`restore/${s.name}\n`);
  } else if (statuses.length === 0) {
    io.stderr.write(
      options.allNamespaces
        ? 'No restores found.\n'
        : `No restores found in ${namespace} namespace.\n`,
    );
  } else {
    io.stdout.write(
      formatRestoreTable(statuses, {
        allNamespaces: options.allNamespaces,
        wide: format === 'wide',
        now: (io.now ?? (() => new Date()))(),
      }),
    );
  }
  return EXIT.OK;
}
