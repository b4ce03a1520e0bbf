/** The "folders" one level below a prefix, for namespace-wide restores (`<prefix>/<pvc>/...`). */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { RestoreSource } from '@kube-restore/common';
import { S3Access, createS3Client, translateS3Error } from './s3';

/** Names (without the prefix or the trailing `/`) of the common prefixes directly under `source.prefix`. */
export async function listChildPrefixes(
  source: Pick<
    RestoreSource,
    'endpoint' | 'region' | 'pathStyle' | 'bucket' | 'prefix'
  >,
  access: S3Access & { signal?: AbortSignal } = {},
): Promise<string[]> {
  const client = access.client ?? createS3Client(source, access.credentials);
  const prefix = source.prefix ?? '';
  const names: string[] = [];
  let token: string | undefined;
  try {
    do {
      const page = await client.send(
        new ListObjectsV2Command({
          Bucket: source.bucket,
          Prefix: prefix || undefined,
          Delimiter: '/',
          ContinuationToken: token,
        }),
        { abortSignal: access.signal },
      );
      for (const p of page.CommonPrefixes ?? []) {
        const name = (p.Prefix ?? '').slice(prefix.length).replace(/\/$/, '');
        if (name) names.push(name);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  } catch (error) {
    throw translateS3Error(error, source, prefix);
  } finally {
    if (!access.client) client.destroy();
  }
  return names.sort();
}
