/**
 * `kubectl restore exists NAMESPACE/PVC --from 's3://bucket/${namespace}/${pvc}/'`: pvc-plumber's decision.
 * Exit 0: a backup exists (restore); 10: none (start fresh); 11: cannot tell (fail closed).
 */
import {
  dns1123LabelProblem,
  dns1123SubdomainProblem,
} from '@kube-restore/common';
import { backupExists } from '@kube-restore/core';
import { EXIT, invalid } from '../errors';
import { CommandIo } from '../io';
import { outputFormat, printData } from '../output';
import { credentialsFromEnv, sourceInput } from '../request';

export interface ExistsOptions {
  target?: string;
  /** A source URL template with ${namespace} and ${pvc}. */
  from?: string;
  endpoint?: string;
  region?: string;
  pathStyle?: boolean;
  credentialsFromEnv?: boolean;
  output?: string;
  /** Default namespace when TARGET is just a PVC name. */
  namespace?: string;
}

export async function existsCommand(
  options: ExistsOptions,
  io: CommandIo,
): Promise<number> {
  const format = outputFormat(options.output, ['json', 'yaml']);
  const target = options.target ?? '';
  const parts = target.split('/');
  if (parts.length > 2)
    throw invalid(`invalid target "${target}": expected NAMESPACE/PVC`);
  const pvc = parts[parts.length - 1];
  const namespace =
    parts.length === 2 ? parts[0] : (options.namespace ?? 'default');
  const namespaceProblem =
    parts.length === 2 ? dns1123LabelProblem(namespace) : undefined;
  const pvcProblem = dns1123SubdomainProblem(pvc);
  if (namespaceProblem || pvcProblem)
    throw invalid(
      `invalid target "${target}": expected NAMESPACE/PVC; ${namespaceProblem ? `namespace "${namespace}" ${namespaceProblem}` : `PVC name "${pvc}" ${pvcProblem}`}`,
    );
  if (!options.from)
    throw invalid(
      '--from is required: the backup layout, e.g. s3://backups/${namespace}/${pvc}/',
    );
  // Validate the URL with placeholders filled, then keep the template's path.
  const filled = options.from
    .replace(/\$\{namespace\}/g, namespace)
    .replace(/\$\{pvc\}/g, pvc);
  const source = sourceInput({ ...options, from: filled }) as {
    bucket: string;
    endpoint?: string;
    region?: string;
    pathStyle?: boolean;
  };
  const templatePath = options.from
    .replace(/^[a-z0-9]+:\/\/[^/]+\//, '')
    .replace(/^s3:\/\/[^/]+$/, '');
  const pathInBucket = source.endpoint
    ? templatePath.replace(/^[^/]+\//, '')
    : templatePath;
  const credentials = options.credentialsFromEnv
    ? credentialsFromEnv(io.env ?? process.env)
    : undefined;
  const decision = await backupExists(
    namespace,
    pvc,
    {
      source: {
        bucket: source.bucket,
        region: source.region ?? 'us-east-1',
        pathStyle: source.pathStyle ?? !!source.endpoint,
        ...(source.endpoint ? { endpoint: source.endpoint } : {}),
      },
      template: pathInBucket,
    },
    { credentials },
  );
  if (format) printData(io.stdout, format, { namespace, pvc, ...decision });
  else {
    const where = decision.location ? ` (${decision.location})` : '';
    io.stdout.write(
      `${decision.decision}${where}${decision.decision === 'unknown' ? `: ${decision.reason}` : ''}\n`,
    );
  }
  const codes = {
    restore: EXIT.OK,
    fresh: EXIT.FRESH,
    unknown: EXIT.UNKNOWN,
  } as const;
  return codes[decision.decision];
}
