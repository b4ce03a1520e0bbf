/**
 * The populator image from the shared builder: reproducible, the job image's base and Node layers
 * byte for byte (a node stores them once), its own config (nonroot, the bundle as entry point), and
 * the bundle with the licences of what it bundles. That it runs in a restricted pod on a real node is
 * packages/restore-populator/src/deployment.cluster.test.ts.
 */
import { createHash } from 'node:crypto';
import { promises as fsp, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { unpackArchive } from '../__testUtils__/imageTools';
import { buildJobImage, bundleForImage } from './jobImage';
import {
  buildPopulatorImage,
  bundlePopulator,
  POPULATOR_IMAGE_CONFIG,
  POPULATOR_IMAGE_REFERENCE,
} from './populatorImage';

jest.setTimeout(240_000);

const sha256 = (data: Buffer) =>
  createHash('sha256').update(data).digest('hex');

describe('the populator image built without Docker', () => {
  let work: string;
  let appFiles: string[];

  beforeAll(async () => {
    work = await fsp.mkdtemp(path.join(os.tmpdir(), 'kr-populator-image-'));
    // one bundle for both builds: the sources may change between them in a shared checkout
    await fsp.mkdir(path.join(work, 'app'));
    appFiles = await bundlePopulator(path.join(work, 'app'));
  });
  afterAll(async () => {
    if (work) await fsp.rm(work, { recursive: true, force: true });
  });

  it('is reproducible, shares the base and Node layers with the job image, and runs the bundle as nonroot', async () => {
    const first = await buildPopulatorImage({
      path: path.join(work, 'first.oci.tar'),
      appFiles,
    });
    const second = await buildPopulatorImage({
      path: path.join(work, 'second.oci.tar'),
      appFiles,
    });
    expect(second.digest).toBe(first.digest);
    expect(sha256(readFileSync(second.path))).toBe(
      sha256(readFileSync(first.path)),
    );
    expect(first.reference).toBe(POPULATOR_IMAGE_REFERENCE);
    expect(POPULATOR_IMAGE_REFERENCE).toMatch(
      /^ghcr\.io\/kube-restore\/populator:\d+\.\d+\.\d+/,
    );

    await fsp.mkdir(path.join(work, 'job-app'));
    const job = await buildJobImage({
      path: path.join(work, 'job.oci.tar'),
      appFiles: await bundleForImage(path.join(work, 'job-app')),
    });
    expect(first.layers).toHaveLength(3);
    expect(first.layers.slice(0, 2).map(l => l.digest)).toEqual(
      job.layers.slice(0, 2).map(l => l.digest),
    );
    expect(first.layers[2].digest).not.toBe(job.layers[2].digest);
    expect(first.layers[2].name).toMatch(/^app: populator /);

    const rootfs = await unpackArchive(
      first.path,
      POPULATOR_IMAGE_REFERENCE.split(':').pop()!,
      path.join(work, 'unpacked'),
    );
    const layout = path.join(work, 'unpacked', 'layout');
    const blob = (digest: string) =>
      JSON.parse(
        readFileSync(
          path.join(layout, 'blobs', 'sha256', digest.slice(7)),
          'utf8',
        ),
      );
    const config = blob(blob(first.digest).config.digest);
    expect(config.config).toEqual(POPULATOR_IMAGE_CONFIG);
    expect(config.config.User).toBe('65532:65532');
    const entry = config.config.Entrypoint.at(-1);
    expect(entry).toBe('/app/populator.cjs');
    const bundle = readFileSync(path.join(rootfs, entry), 'utf8');
    expect(bundle).toContain('kube_restore_populator_restores_started_total');
    const licences = readFileSync(
      path.join(rootfs, 'app', 'THIRD-PARTY-LICENSES.txt'),
      'utf8',
    );
    expect(licences).toContain('prom-client');
    expect(licences).toContain('@kubernetes/client-node');
    // nothing in /app is writable by the user the pod runs as (the root filesystem is read-only anyway)
    for (const file of await fsp.readdir(path.join(rootfs, 'app'))) {
      const st = await fsp.stat(path.join(rootfs, 'app', file));
      expect(st.mode & 0o022).toBe(0);
    }
  });
});
