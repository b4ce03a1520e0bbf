/** `kubectl restore status NAME` and `kubectl restore describe NAME`. */
import { KubeClients, getRestore, restoreEvents } from '@kube-restore/core';
import { EXIT } from '../errors';
import { CommandIo } from '../io';
import { outputFormat, printData } from '../output';
import {
  RestoreRow,
  recordedPopulatorRestore,
  withPopulator,
} from '../populated';
import { EventRow, formatDescribe, formatStatus } from '../render';
import { SessionFactory, restoreNameArg } from '../session';

export interface StatusOptions {
  name?: string;
  output?: string;
}

const now = (io: CommandIo) => (io.now ?? (() => new Date()))();

/** The restore's status, and the populator's part when it is the populator's. */
async function getRow(
  clients: KubeClients,
  namespace: string,
  name: string,
): Promise<RestoreRow> {
  let status;
  try {
    status = await getRestore(clients, namespace, name);
  } catch (error) {
    // a finished populator restore: its Job is gone, its RestoreSource's status keeps it
    const recorded =
      (error as { kind?: string }).kind === 'NotFound'
        ? await recordedPopulatorRestore(clients, namespace, name)
        : undefined;
    if (recorded) return recorded;
    throw error;
  }
  return (await withPopulator(clients, namespace, [status]))[0];
}

export async function statusCommand(
  options: StatusOptions,
  io: CommandIo,
  session: SessionFactory,
): Promise<number> {
  const name = restoreNameArg(options.name);
  const format = outputFormat(options.output, ['json', 'yaml', 'name']);
  const { clients, namespace } = await session();
  const status = await getRow(clients, namespace, name);
  if (format === 'json' || format === 'yaml')
    printData(io.stdout, format, status);
  else if (format === 'name') io.stdout.write(`restore/${status.name}\n`);
  else io.stdout.write(formatStatus(status, now(io)));
  return EXIT.OK;
}

export async function describeCommand(
  options: StatusOptions,
  io: CommandIo,
  session: SessionFactory,
): Promise<number> {
  const name = restoreNameArg(options.name);
  const format = outputFormat(options.output, ['json', 'yaml']);
  const { clients, namespace } = await session();
  const status = await getRow(clients, namespace, name);
  const also = status.populator ? [status.populator.pvc] : [];
  const events = await restoreEvents(clients, namespace, name, also).catch(
    () => [],
  );
  const rows: EventRow[] = events.map(e => ({
    type: e.type,
    reason: e.reason,
    object: `${(e.involvedObject?.kind ?? '').toLowerCase()}/${e.involvedObject?.name ?? ''}`,
    message: e.message,
    time: new Date(
      e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? 0,
    ).toISOString(),
  }));
  if (format) printData(io.stdout, format, { ...status, events: rows });
  else io.stdout.write(formatDescribe(status, rows, now(io)));
  return EXIT.OK;
}
