/** `kubectl restore version`: the plugin's version, without loading core or the Kubernetes client. */
import { EXIT } from '../errors';
import { CommandIo } from '../io';
import { outputFormat, printData } from '../output';

export const PLUGIN_VERSION = '0.1.0';

export async function versionCommand(
  options: { output?: string },
  io: CommandIo,
): Promise<number> {
  const format = outputFormat(options.output, ['json', 'yaml']);
  const info = {
    version: PLUGIN_VERSION,
    jobImage: `ghcr.io/kube-restore/restore-job:${PLUGIN_VERSION}`,
    node: process.version,
  };
  if (format) printData(io.stdout, format, info);
  else
    io.stdout.write(
      `kubectl-restore v${info.version} (job image ${info.jobImage}, node ${info.node})\n`,
    );
  return EXIT.OK;
}
