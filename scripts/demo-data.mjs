// Uploads the demo dataset to the harness's MinIO: a few hundred files in nested folders under
// s3://datasets/demo/, and the same tree as s3://datasets/archives/demo.tar.gz. Deterministic (seeded).
import {
  CreateBucketCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { createGzip } from 'node:zlib';
import { pack as tarPack } from 'tar-stream';

const endpoint = process.env.KUBE_RESTORE_S3_ENDPOINT;
if (!endpoint) {
  console.error(
    'KUBE_RESTORE_S3_ENDPOINT is not set: run `eval "$(npm run -s cluster:up)"` first',
  );
  process.exit(1);
}
const s3 = new S3Client({
  endpoint,
  region: process.env.AWS_REGION ?? 'us-east-1',
  forcePathStyle: true,
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
});

let seed = 20261121;
const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;

const files = [];
for (const team of ['images', 'labels', 'meta']) {
  for (let dir = 0; dir < 10; dir++) {
    for (let i = 0; i < 10; i++) {
      const size =
        team === 'images'
          ? 4096 + Math.floor(random() * 60000)
          : 64 + Math.floor(random() * 2000);
      const body = Buffer.alloc(size);
      for (let b = 0; b < size; b++) body[b] = Math.floor(random() * 256);
      const ext =
        team === 'images' ? 'bin' : team === 'labels' ? 'csv' : 'json';
      files.push({
        path: `${team}/shard-${String(dir).padStart(2, '0')}/item-${String(i).padStart(3, '0')}.${ext}`,
        body,
      });
    }
  }
}
files.push({
  path: 'README.txt',
  body: Buffer.from(
    'kube-restore demo dataset: 300 files in nested folders.\n',
  ),
});

await s3.send(new CreateBucketCommand({ Bucket: 'datasets' })).catch(e => {
  if (!['BucketAlreadyOwnedByYou', 'BucketAlreadyExists'].includes(e.name))
    throw e;
});
let done = 0;
const queue = [...files];
await Promise.all(
  Array.from({ length: 16 }, async () => {
    for (let f = queue.shift(); f; f = queue.shift()) {
      await s3.send(
        new PutObjectCommand({
          Bucket: 'datasets',
          Key: `demo/${f.path}`,
          Body: f.body,
        }),
      );
      done++;
    }
  }),
);

const pack = tarPack();
const gzip = createGzip();
const chunks = [];
gzip.on('data', c => chunks.push(c));
const finished = new Promise(resolve => gzip.on('end', resolve));
pack.pipe(gzip);
for (const f of files)
  pack.entry(
    {
      name: `demo/${f.path}`,
      size: f.body.length,
      mode: 0o644,
      mtime: new Date('2026-11-01T00:00:00Z'),
    },
    f.body,
  );
pack.finalize();
await finished;
const archive = Buffer.concat(chunks);
await s3.send(
  new PutObjectCommand({
    Bucket: 'datasets',
    Key: 'archives/demo.tar.gz',
    Body: archive,
  }),
);
console.error(
  `uploaded ${done} objects to s3://datasets/demo/ and a ${archive.length}-byte s3://datasets/archives/demo.tar.gz`,
);
s3.destroy();
