/**
 * A child process for the listing benchmark (d): core's sizeSource over a bucket, so that GNU time
 * can report its peak memory alone. Input in the environment (PROBE_SOURCE as JSON, AWS_* keys);
 * prints the SourceSize as JSON.
 */
import { sizeSource } from '@kube-restore/core';
import { parseRestoreRequest } from '@kube-restore/common';

async function main() {
  const raw = process.env.PROBE_SOURCE;
  if (!raw) throw new Error('PROBE_SOURCE is not set');
  const request = parseRestoreRequest({
    name: 'probe',
    source: JSON.parse(raw),
    target: { namespace: 'bench', pvc: 'bench' },
  });
  const started = Date.now();
  const size = await sizeSource(request.source, {
    credentials: {
      accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? '',
      secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? '',
    },
  });
  process.stdout.write(
    `${JSON.stringify({ objects: size.objects, bytes: size.bytes, ms: Date.now() - started })}\n`,
  );
}

main().catch(error => {
  process.stderr.write(`size-probe failed: ${(error as Error).message}\n`);
  process.exit(1);
});
