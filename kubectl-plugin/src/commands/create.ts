/** `kubectl restore create`: flags -> request -> (size) -> manifests -> create, print, and optionally wait. */
import {
  RestoreManifests,
  buildRestoreManifests,
  createRestore,
} from '@kube-restore/core';
import { EXIT, invalid } from '../errors';
import { CommandIo } from '../io';
import { asList, outputFormat, printData } from '../output';
import { parseRequestFlags } from '../request';
import { SessionFactory, parseDuration } from '../session';
import { formatOutcome, waitForRestore } from '../waiter';
import { declarativeCommand } from './declarative';
import { CreateOptions, prepareCreate } from './prepare';

export type { CreateOptions } from './prepare';

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

export async function createCommand(
  options: CreateOptions,
  io: CommandIo,
  session: SessionFactory,
): Promise<number> {
  if (options.declarative) return declarativeCommand(options, io, session);
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

  const { clients, namespace, user, requestTimeoutMs } = await session();
  // --request-timeout bounds each of core's S3 requests too (sizing, a sharded restore's bounds).
  const timeouts = requestTimeoutMs
    ? { connectionMs: requestTimeoutMs, requestMs: requestTimeoutMs }
    : undefined;
  const prepared = await prepareCreate(options, namespace, io, user, timeouts);

  let manifests: RestoreManifests;
  let created = true;
  if (dryRun === 'client') {
    manifests = buildRestoreManifests(prepared.request, prepared.build);
  } else {
    const result = await createRestore(clients, prepared.request, {
      ...prepared.build,
      ...(dryRun === 'server' ? { dryRun: 'server' as const } : {}),
      // kubectl acts as the user on their machine: the shard bounds are listed with their own
      // AWS identity when no keys are given, as `--size auto` sizes with it.
      ambientCredentials: true,
      ...(timeouts ? { timeouts } : {}),
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
