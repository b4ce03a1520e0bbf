/** `kubectl restore wait NAME [--for=PHASE] [--timeout=DURATION]`. */
import { EXIT, invalid } from '../errors';
import { CommandIo } from '../io';
import { outputFormat, printData } from '../output';
import { SessionFactory, parseDuration, restoreNameArg } from '../session';
import {
  WAITABLE_PHASES,
  WaitOptions,
  formatOutcome,
  waitForRestore,
} from '../waiter';

export interface WaitCommandOptions {
  name?: string;
  for?: string;
  timeout?: string;
  output?: string;
  waitOptions?: WaitOptions;
}

export async function waitCommand(
  options: WaitCommandOptions,
  io: CommandIo,
  session: SessionFactory,
): Promise<number> {
  const name = restoreNameArg(options.name);
  const until = (options.for ?? 'Succeeded').replace(/^phase=/i, '');
  const phase = WAITABLE_PHASES.find(
    p => p.toLowerCase() === until.toLowerCase(),
  );
  if (!phase)
    throw invalid(
      `invalid --for "${options.for}": must be one of ${WAITABLE_PHASES.join(', ')}`,
    );
  const timeoutSeconds = options.timeout
    ? parseDuration(options.timeout, '--timeout')
    : undefined;
  const format = outputFormat(options.output, ['json', 'yaml', 'name']);
  const { clients, namespace } = await session();
  const status = await waitForRestore(clients, namespace, name, io, {
    until: phase,
    timeoutSeconds,
    ...options.waitOptions,
  });
  if (format === 'json' || format === 'yaml')
    printData(io.stdout, format, status);
  else if (format === 'name') io.stdout.write(`restore/${status.name}\n`);
  else io.stdout.write(formatOutcome(status));
  return EXIT.OK;
}
