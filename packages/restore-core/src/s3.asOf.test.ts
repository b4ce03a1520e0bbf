/**
 * sizeSource with `asOf`: sized from the versions the job will read (ListObjectVersions and common's
 * versionsAsOf), not from today's objects. A fake S3 client answering ListObjectVersions from a table,
 * in pages, as S3 does (pure logic: paging and the choice of versions).
 */
import { ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { RestoreSource, parseRestoreRequest } from '@kube-restore/common';
import { sizeSource } from './s3';

const at = (day: number) => new Date(Date.UTC(2026, 0, day));
interface Entry {
  key: string;
  day: number;
  size?: number;
  marker?: boolean;
}

/** ListObjectVersions over `entries`: sorted by key then newest first, MaxKeys entries per page. */
function versionedS3(entries: Entry[]) {
  const commands: string[] = [];
  const sorted = [...entries].sort((a, b) => {
    if (a.key !== b.key) return a.key < b.key ? -1 : 1;
    return b.day - a.day;
  });
  const client = {
    async send(command: ListObjectVersionsCommand) {
      commands.push(command.constructor.name);
      const input = command.input;
      const matching = sorted.filter(e => e.key.startsWith(input.Prefix ?? ''));
      const start = input.KeyMarker ? Number(input.VersionIdMarker) : 0;
      const page = matching.slice(start, start + (input.MaxKeys ?? 1000));
      const next = start + page.length;
      const truncated = next < matching.length;
      return {
        Versions: page
          .filter(e => !e.marker)
          .map(e => ({
            Key: e.key,
            Size: e.size,
            LastModified: at(e.day),
            VersionId: `${e.key}@${e.day}`,
          })),
        DeleteMarkers: page
          .filter(e => e.marker)
          .map(e => ({ Key: e.key, LastModified: at(e.day) })),
        IsTruncated: truncated,
        NextKeyMarker: truncated ? page[page.length - 1].key : undefined,
        NextVersionIdMarker: truncated ? String(next) : undefined,
      };
    },
    destroy() {},
  };
  return { client: client as unknown as S3Client, commands };
}

const source = (extra: Record<string, unknown>): RestoreSource =>
  parseRestoreRequest({
    source: { bucket: 'backups', ...extra },
    target: { namespace: 'team-a', pvc: 'data', size: '1Gi' },
  }).source;

const HISTORY: Entry[] = [
  { key: 'db/a', day: 1, size: 100 },
  { key: 'db/a', day: 5, size: 1_000_000 }, // grew after the instant
  { key: 'db/b', day: 2, size: 200 },
  { key: 'db/b', day: 3, marker: true }, // deleted before the instant
  { key: 'db/c', day: 2, size: 300 },
  { key: 'db/c', day: 6, marker: true }, // deleted after it: still there then
  { key: 'db/d', day: 7, size: 400 }, // born after it
];

describe('sizeSource with asOf', () => {
  it.each([1, 2, 1000])(
    'sizes the versions at the instant, not today’s objects (pages of %s)',
    async pageSize => {
      const { client, commands } = versionedS3(HISTORY);
      const size = await sizeSource(
        source({ prefix: 'db/', asOf: at(4).toISOString() }),
        { client, pageSize },
      );
      expect({ objects: size.objects, bytes: size.bytes }).toEqual({
        objects: 2,
        bytes: 400, // db/a as of day 1 (100) and db/c (300)
      });
      expect(new Set(commands)).toEqual(new Set(['ListObjectVersionsCommand']));
    },
  );

  it('one archive key as of an instant: its version then, estimated when compressed', async () => {
    const { client } = versionedS3([
      { key: 'db.tar.gz', day: 1, size: 1000 },
      { key: 'db.tar.gz', day: 9, size: 5000 },
      { key: 'db.tar.gz.sha256', day: 1, size: 64 },
    ]);
    const size = await sizeSource(
      source({ key: 'db.tar.gz', format: 'tar', asOf: at(2).toISOString() }),
      { client, compressionRatio: 3 },
    );
    expect(size).toMatchObject({
      objects: 1,
      bytes: 1000,
      estimated: true,
      diskBytes: 3000,
    });
  });
});
