/**
 * `kubectl restore create-namespace --from s3://bucket/prefix/ -n NAMESPACE`: one restore per PVC folder
 * under the prefix (`<prefix>/<pvc>/...`), each into a PVC of that name. Every request is validated
 * before the first one is created.
 */
import { listChildPrefixes } from '@kube-restore/core';
import { CliError, EXIT, invalid } from '../errors';
import { CommandIo } from '../io';
import { credentialsFromEnv, parseRequestFlags, sourceInput } from '../request';
import { SessionFactory } from '../session';
import { CreateOptions, createCommand } from './create';

export async function createNamespaceCommand(
  options: CreateOptions,
  io: CommandIo,
  session: SessionFactory,
): Promise<number> {
  if (options.to)
    throw invalid(
      '--to is not used by create-namespace: each PVC is named after its folder',
    );
  if (options.name)
    throw invalid(
      'create-namespace takes no NAME: restores are named after their PVCs',
    );
  const source = sourceInput(options);
  if (source.key !== undefined)
    throw invalid(
      `invalid --from "${options.from}": create-namespace needs a prefix, not one object`,
    );
  const parsed = parseRequestFlags(
    { ...options, to: 'pvc/placeholder' },
    'default',
  ).source;
  const credentials = options.credentialsFromEnv
    ? credentialsFromEnv(io.env ?? process.env)
    : undefined;
  const pvcs = await listChildPrefixes(parsed, { credentials });
  if (pvcs.length === 0)
    throw new CliError(
      `no PVC folders under ${options.from}: expected ${options.from}<pvc>/...`,
      EXIT.NOT_FOUND,
    );
  const prefix = parsed.prefix ?? '';
  const flagsFor = (pvc: string): CreateOptions => ({
    ...options,
    from: `${options.from!.replace(/\/?$/, '/')}${pvc}/`,
    to: `pvc/${pvc}`,
    wait: false,
  });
  // Validate all before creating any.
  for (const pvc of pvcs) parseRequestFlags(flagsFor(pvc), 'default');
  io.stderr.write(
    `found ${pvcs.length} PVC folder(s) under s3://${parsed.bucket}/${prefix}: ${pvcs.join(', ')}\n`,
  );
  const names: string[] = [];
  for (const pvc of pvcs) {
    const out: string[] = [];
    await createCommand(
      flagsFor(pvc),
      { ...io, stdout: { write: t => out.push(t) } },
      session,
    );
    const text = out.join('');
    io.stdout.write(text);
    const m = /restore\/([a-z0-9-]+)/.exec(text);
    if (m) names.push(m[1]);
  }
  if (options.wait && options.dryRun === undefined) {
    const { waitCommand } = await import('./wait');
    for (const name of names)
      await waitCommand({ name, timeout: options.timeout }, io, session);
  }
  return EXIT.OK;
}
