/** Create's options and what it sends, worked out without the cluster (shared by create and --declarative). */
import { RestoreRequest, formatBytes } from '@kube-restore/common';
import {
  BuildOptions,
  DEFAULT_JOB_IMAGE,
  S3Keys,
  S3Timeouts,
  ShardBoundsSampler,
  shardable,
  sizeSource,
} from '@kube-restore/core';
import { CliError, exitCodeOf, invalid } from '../errors';
import type { FlagValues } from '../flagTable';
import type { CREATE_FLAGS } from '../flags';
import { CommandIo } from '../io';
import { credentialsFromEnv, parseRequestFlags } from '../request';
import type { WaitOptions } from '../waiter';

export type CreateOptions = FlagValues<typeof CREATE_FLAGS> & {
  /** Restore name (positional NAME). */
  name?: string;
  output?: string;
  /** Passed to the waiter (tests). */
  waitOptions?: WaitOptions;
};

/** What create sends, without the cluster: validated request, credentials and build options. */
export interface PreparedCreate {
  request: RestoreRequest;
  credentials?: S3Keys;
  build: BuildOptions;
}

export async function prepareCreate(
  options: CreateOptions,
  namespace: string,
  io: CommandIo,
  requester?: string,
  /** Of each S3 request of the `--size auto` listing (from `--request-timeout`). */
  timeouts?: S3Timeouts,
): Promise<PreparedCreate> {
  let request = parseRequestFlags(options, namespace);
  const credentials = options.credentialsFromEnv
    ? credentialsFromEnv(io.env ?? process.env)
    : undefined;
  const pullPolicies = ['Always', 'IfNotPresent', 'Never'];
  if (
    options.imagePullPolicy &&
    !pullPolicies.includes(options.imagePullPolicy)
  ) {
    throw invalid(
      `invalid --image-pull-policy "${options.imagePullPolicy}": must be one of ${pullPolicies.join(', ')}`,
    );
  }
  const build: BuildOptions = {
    image: options.image || DEFAULT_JOB_IMAGE,
    ...(options.imagePullPolicy
      ? { imagePullPolicy: options.imagePullPolicy as 'Always' }
      : {}),
    ...(credentials ? { credentials } : {}),
    ...(requester ? { requester } : {}),
  };
  if (request.target.mode === 'new' && request.target.size === 'auto') {
    try {
      // The listing that sizes a sharded restore also chooses where its shards split the keys.
      const sampler = shardable(request)
        ? new ShardBoundsSampler(request.options.parallelism)
        : undefined;
      const size = await sizeSource(request.source, {
        credentials,
        // a public bucket is read unsigned, as the Job reads it
        anonymous: request.credentials.type === 'anonymous',
        sampler,
        timeouts,
      });
      const bounds = sampler?.bounds();
      if (bounds) request = { ...request, shards: { bounds } };
      build.resolvedSize = size.recommendedSize;
      io.stderr.write(
        `sized ${request.source.key ?? request.source.prefix ?? ''}: ${size.objects} objects, ${formatBytes(size.bytes)}` +
          `${size.estimated ? ' (estimated unpacked size)' : ''}; new PVC ${build.resolvedSize}\n`,
      );
    } catch (error) {
      throw new CliError(
        `--size auto: cannot size the source: ${(error as Error).message}; give --size QUANTITY`,
        exitCodeOf(error),
        {
          cause: error,
        },
      );
    }
  }
  return { request, credentials, build };
}
