/** sourceFromUrl: the source fields a URL names, for `--from` and the portal's source picker. */
import { sourceFromUrl } from './request';

describe('sourceFromUrl', () => {
  it.each([
    [
      's3://datasets/team-a/2026/',
      { bucket: 'datasets', prefix: 'team-a/2026/' },
    ],
    ['s3://datasets/team-a', { bucket: 'datasets', prefix: 'team-a/' }],
    ['s3://datasets', { bucket: 'datasets', prefix: '' }],
    [
      's3://backups/db/dump.tar.gz',
      { bucket: 'backups', key: 'db/dump.tar.gz', format: 'tar' },
    ],
    [
      's3://backups/a%20b/x.tgz',
      { bucket: 'backups', key: 'a b/x.tgz', format: 'tar' },
    ],
    [
      'http://127.0.0.1:9000/backups/db/',
      {
        bucket: 'backups',
        prefix: 'db/',
        endpoint: 'http://127.0.0.1:9000',
        pathStyle: true,
      },
    ],
    [
      'https://minio.example:9443/backups/x.tar',
      {
        bucket: 'backups',
        key: 'x.tar',
        endpoint: 'https://minio.example:9443',
        pathStyle: true,
        format: 'tar',
      },
    ],
  ])('parses %s', (url, expected) => {
    expect(sourceFromUrl(url)).toEqual(expected);
  });

  it.each([
    ['datasets/prefix', /expected s3:\/\/BUCKET/],
    ['gs://bucket/x', /unsupported scheme "gs:"/],
    ['s3://B/x', /bucket "b"|bucket "B"/],
    ['https://host:9000/', /no bucket/],
    ['s3://bucket/x?versionId=1', /query/],
    ['https://key:secret@host/bucket/', /credentials/],
    ['https://key@host/bucket/', /credentials/],
  ])('rejects %s', (url, message) => {
    expect(() => sourceFromUrl(url)).toThrow(message);
  });
});
