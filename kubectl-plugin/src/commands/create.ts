/** `kubectl restore create`: flags -> request -> (size) -> manifests -> create, print, and optionally wait. */
import { RestoreRequest, formatBytes } from '@kube-restore/common';
import {
  BuildOptions,
  DEFAULT_JOB_IMAGE,
  RestoreManifests,
  S3Keys,
  buildRestoreManifests,
  createRestore,
  sizeSource,
} from '@kube-restore/core';
import { CliError, EXIT, exitCodeOf, invalid } from '../errors';
import { CommandIo } from '../io';
import { asList, outputFormat, printData } from '../output';
import {
  RequestFlags,
  credentialsFromEnv,
  parseRequestFlags,
} from '../request';
import { SessionFactory, parseDuration } from '../session';
import { WaitOptions, formatOutcome, waitForRestore } from '../waiter';

export interface CreateOptions extends RequestFlags {
  image?: string;
  imagePullPolicy?: string;
  dryRun?: string;
  output?: string;
  wait?: boolean;
  timeout?: string;
  /** Passed to the waiter (tests). */
  waitOptions?: WaitOptions;
}

export const DRY_RUN_MODES = ['none', 'client', 'server'] as const;

function manifestObjects(
  manifests: RestoreManifests,
): { kind: string; name: string; object: unknown }[] {
  const out: { kind: string; name: string; object: unknown }[] = [];
  if (manifests.pvc)
    out.push({
      kind: 'persistentvolumeclaim',
      name: manifests.pvc.metadata!.name!,
      object: manifests.pvc,
    });
  out.push({ kind: 'job.batch', name: manifests.name, object: manifests.job });
  if (manifests.secret) {
    // Printed manifests never carry the keys (they end up in files, pipes and CI logs).
    const redacted = Object.fromEntries(
      Object.keys(manifests.secret.stringData ?? {}).map(k => [
        k,
        '<redacted>',
      ]),
    );
    out.push({
      kind: 'secret',
      name: manifests.secret.metadata!.name!,
      object: { ...manifests.secret, stringData: redacted },
    });
  }
  return out;
}

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
): Promise<PreparedCreate> {
  const request = parseRequestFlags(options, namespace);
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
      const size = await sizeSource(request.source, { credentials });
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

export async function createCommand(
  options: CreateOptions,
  io: CommandIo,
  session: SessionFactory,
): Promise<number> {
  const dryRun = options.dryRun ?? 'none';
  if (!(DRY_RUN_MODES as readonly string[]).includes(dryRun)) {
    throw invalid(
      `invalid --dry-run "${dryRun}": must be one of none, client, server`,
    );
  }
  const format = outputFormat(options.output, ['json', 'yaml', 'name']);
  if (options.wait && dryRun !== 'none')
    throw invalid('--wait cannot be combined with --dry-run');
  const timeoutSeconds = options.timeout
    ? parseDuration(options.timeout, '--timeout')
    : undefined;
  // Checks that need no cluster come first: a bad flag never reaches the API server.
  parseRequestFlags(options, 'default');

  const { clients, namespace, user } = await session();
  const prepared = await prepareCreate(options, namespace, io, user);

  let manifests: RestoreManifests;
  let created = true;
  if (dryRun === 'client') {
    manifests = buildRestoreManifests(prepared.request, prepared.build);
  } else {
    const result = await createRestore(clients, prepared.request, {
      ...prepared.build,
      ...(dryRun === 'server' ? { dryRun: 'server' as const } : {}),
    });
    manifests = result.manifests;
    created = result.created;
  }

  const objects = manifestObjects(manifests);
  const suffix = dryRun === 'none' ? '' : ` (${dryRun} dry run)`;
  if (format === 'json' || format === 'yaml') {
    printData(io.stdout, format, asList(objects.map(o => o.object)));
  } else if (format === 'name') {
    io.stdout.write(`restore/${manifests.name}\n`);
  } else {
    for (const o of objects)
      io.stdout.write(
        `${o.kind}/${o.name} ${created ? 'created' : 'unchanged'}${suffix}\n`,
      );
    io.stdout.write(
      `restore/${manifests.name} ${created ? 'created' : 'unchanged (the same request exists)'}${suffix} in namespace ${namespace}\n`,
    );
  }
  if (!options.wait) return EXIT.OK;
  const status = await waitForRestore(clients, namespace, manifests.name, io, {
    timeoutSeconds,
    ...options.waitOptions,
  });
  if (format === undefined) io.stdout.write(formatOutcome(status));
  return EXIT.OK;
}
