/**
 * One builder for the Node images (the job image, the populator image), without Docker: what a
 * Dockerfile on gcr.io/distroless/nodejs24-debian12:nonroot would build, assembled from registry
 * packages only. Three layers, bottom first:
 *   1. Debian's libc6, libgcc-s1, libstdc++6 (the libraries Node links) and the CA bundle made from
 *      ca-certificates; /etc/passwd and /etc/group with root and nonroot (65532); /tmp; package records.
 *   2. Node.js from the npm registry's node-linux-<arch> at /nodejs/bin/node (distroless' layout).
 *   3. The application's esbuild bundle at /app, with the licences of the npm packages in it.
 * The first two layers are the same in every image (same bytes, same digests: a node stores them once).
 * No shell and no package manager; reproducible (same inputs, same digest).
 */
// eslint-disable-next-line @backstage/no-undeclared-imports -- build tooling, never in a bundle
import { build, BuildOptions } from 'esbuild';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import {
  debianArch,
  fetchDeb,
  pinnedPackages,
  readDeb,
  DebContents,
  DebianPackage,
} from './debs';
import { thirdPartyLicenses } from './licenses';
import { fetchNodeRuntime, nodeVersion } from './nodeRuntime';
import { ImageRunConfig, LayerEntry, OciArchive, writeOciArchive } from './oci';
import { imageInputsDir } from './paths';

/** What the distroless base sets; an image built on it inherits it. */
export const DISTROLESS_ENV = [
  'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  'SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt',
];

export const NONROOT = 65532;

/** The Debian packages in the image: what `node` links, and the CA certificates. Pinned in debian-packages.json. */
export const DEBIAN_PACKAGES = [
  'libc6',
  'libgcc-s1',
  'libstdc++6',
  'ca-certificates',
] as const;

/** Where the image lists its packages and versions (also /var/lib/dpkg/status.d for scanners). */
export const PACKAGES_FILE = '/usr/share/kube-restore/packages.json';

export interface ImagePackage {
  name: string;
  version: string;
  from: 'npm' | 'debian';
}

export interface NodeImage extends OciArchive {
  /** What the image holds, as PACKAGES_FILE records it. */
  packages: ImagePackage[];
}

export interface NodeImageSpec {
  /** The archive to write. */
  path: string;
  /** The name the archive gives the image, `registry/name:tag`. */
  reference: string;
  config: ImageRunConfig;
  /** The application layer's name in the image history, e.g. `restore-job 0.1.0`. */
  app: string;
  /** The files for /app (flat); written into a fresh directory the builder removes afterwards. */
  appFiles: (dir: string) => Promise<string[]>;
  /** Downloads and compressed layers; default ${KUBE_RESTORE_CACHE:-~/.cache/kube-restore}/image-inputs. */
  cacheDir?: string;
  log?: (line: string) => void;
}

/** Builds one Node image archive; see the module's comment. Quick when its inputs are cached. */
export async function buildNodeImage(spec: NodeImageSpec): Promise<NodeImage> {
  const cacheDir = spec.cacheDir ?? imageInputsDir();
  const log = spec.log ?? (() => {});
  const out = spec.path;
  await fsp.mkdir(path.dirname(out), { recursive: true });

  log(`Node ${nodeVersion()} and Debian packages into ${cacheDir}`);
  const runtime = await fetchNodeRuntime(
    nodeVersion(),
    path.join(cacheDir, 'npm'),
  );
  const debs: Array<DebianPackage & DebContents> = [];
  for (const pkg of pinnedPackages(DEBIAN_PACKAGES, debianArch())) {
    debs.push({
      ...pkg,
      ...(await readDeb(await fetchDeb(pkg, path.join(cacheDir, 'debian')))),
    });
  }
  const packages: ImagePackage[] = [
    ...debs.map(d => ({
      name: d.name,
      version: d.version,
      from: 'debian' as const,
    })),
    { name: runtime.packageName, version: runtime.version, from: 'npm' },
  ];

  // A directory of its own: tests rebuild the dist/ bundles (with source maps) at any time.
  const bundleDir = await fsp.mkdtemp(
    path.join(path.dirname(out), 'image-bundle-'),
  );
  try {
    log(`bundling ${spec.app}`);
    const bundle = await spec.appFiles(bundleDir);
    log(`writing ${out}`);
    const image = await writeOciArchive({
      path: out,
      reference: spec.reference,
      config: spec.config,
      cacheDir: path.join(cacheDir, 'layers'),
      layers: [
        {
          name: `base: ${packages
            .filter(p => p.from === 'debian')
            .map(p => `${p.name} ${p.version}`)
            .join(', ')}`,
          entries: baseEntries(debs, packages),
        },
        {
          name: `node: ${runtime.packageName} ${runtime.version}`,
          entries: [
            {
              path: '/nodejs/bin/node',
              type: 'file',
              source: runtime.node,
              mode: 0o755,
            },
            { path: '/nodejs/LICENSE', type: 'file', source: runtime.license },
          ],
        },
        {
          name: `app: ${spec.app}`,
          entries: bundle.map(file => ({
            path: `/app/${path.basename(file)}`,
            type: 'file' as const,
            source: file,
          })),
        },
      ],
    });
    return { ...image, packages };
  } finally {
    await fsp.rm(bundleDir, { recursive: true, force: true });
  }
}

/**
 * `<outName>` bundled from `entry` with `options` (legal comments linked, so `<outName>.LEGAL.txt`
 * when esbuild finds any), each of `more` beside it the same way (worker threads' code), and
 * THIRD-PARTY-LICENSES.txt: the licences of the npm packages in the bundles. Module names in the
 * bundles are relative to `workingDir`, fixed so that they do not depend on the caller's cwd.
 * Returns the files written, sorted.
 */
export async function bundleApp(
  dir: string,
  app: {
    entry: string;
    outName: string;
    workingDir: string;
    options: BuildOptions;
    /** Further entry points, bundled on their own with the same options and the same extension. */
    more?: Array<{ entry: string; outName: string }>;
  },
): Promise<string[]> {
  const ext = path.extname(app.outName);
  const entries = [
    { entry: app.entry, outName: app.outName },
    ...(app.more ?? []),
  ];
  for (const e of entries)
    if (path.extname(e.outName) !== ext)
      throw new Error(`${e.outName}: every bundle of an app ends in ${ext}`);
  const result = await build({
    ...app.options,
    entryPoints: entries.map(e => ({
      in: e.entry,
      out: path.basename(e.outName, ext),
    })),
    outdir: dir,
    outExtension: { '.js': ext },
    legalComments: 'linked',
    absWorkingDir: app.workingDir,
    metafile: true,
    logLevel: 'error',
  });
  await fsp.writeFile(
    path.join(dir, 'THIRD-PARTY-LICENSES.txt'),
    thirdPartyLicenses(result.metafile!, app.workingDir),
  );
  return (await fsp.readdir(dir)).sort().map(file => path.join(dir, file));
}

/** Parts of a package that a container never reads; each package's copyright file stays. */
const DROPPED =
  /^\/usr\/share\/(man|info|lintian|locale|gcc|gdb)(\/|$)|^\/usr\/share\/doc\/[^/]+\/(?!copyright$)/;

/** Layer 1: the Debian packages' files, the CA bundle, users and groups, the package records. */
function baseEntries(
  debs: Array<DebianPackage & DebContents>,
  packages: ImagePackage[],
): LayerEntry[] {
  const entries = new Map<string, LayerEntry>();
  const add = (entry: LayerEntry, from: string) => {
    const before = entries.get(entry.path);
    if (before?.type === 'directory' && entry.type === 'directory') return;
    if (before)
      throw new Error(
        `${entry.path} comes from two places (the second: ${from})`,
      );
    entries.set(entry.path, entry);
  };
  for (const deb of debs) {
    for (const entry of deb.entries) {
      if (DROPPED.test(entry.path)) continue;
      // ca-certificates' postinst would build the bundle (no script runs here): only its copyright is kept.
      if (
        deb.name === 'ca-certificates' &&
        entry.path !== '/usr/share/doc/ca-certificates/copyright'
      )
        continue;
      add(entry, deb.name);
    }
    add(
      {
        path: `/var/lib/dpkg/status.d/${deb.name}`,
        type: 'file',
        content: deb.control,
      },
      deb.name,
    );
  }
  const certificates = debs.find(d => d.name === 'ca-certificates');
  if (!certificates)
    throw new Error('the image needs the ca-certificates package');
  add(
    {
      path: '/etc/ssl/certs/ca-certificates.crt',
      type: 'file',
      content: caBundle(certificates),
    },
    'ca-certificates',
  );

  const files: LayerEntry[] = [
    {
      path: '/etc/passwd',
      type: 'file',
      content: [
        'root:x:0:0:root:/root:/sbin/nologin',
        'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin',
        `nonroot:x:${NONROOT}:${NONROOT}:nonroot:/home/nonroot:/sbin/nologin`,
        '',
      ].join('\n'),
    },
    {
      path: '/etc/group',
      type: 'file',
      content: [
        'root:x:0:',
        'nobody:x:65534:',
        `nonroot:x:${NONROOT}:`,
        '',
      ].join('\n'),
    },
    {
      path: '/etc/nsswitch.conf',
      type: 'file',
      content: [
        'passwd: files',
        'group: files',
        'shadow: files',
        'hosts: files dns',
        'networks: files',
        'protocols: files',
        'services: files',
        '',
      ].join('\n'),
    },
    { path: '/tmp', type: 'directory', mode: 0o1777 },
    { path: '/root', type: 'directory', mode: 0o700 },
    {
      path: '/home/nonroot',
      type: 'directory',
      mode: 0o700,
      uid: NONROOT,
      gid: NONROOT,
    },
    {
      path: PACKAGES_FILE,
      type: 'file',
      content: `${JSON.stringify(packages, null, 2)}\n`,
    },
  ];
  for (const file of files) add(file, 'the image');
  return [...entries.values()];
}

/** What update-ca-certificates makes of the package's Mozilla certificates: all of them, one after another. */
function caBundle(certificates: DebContents): string {
  const pems = certificates.entries
    .filter(
      e =>
        e.type === 'file' &&
        /^\/usr\/share\/ca-certificates\/mozilla\/[^/]+\.crt$/.test(e.path),
    )
    .sort((a, b) => (a.path < b.path ? -1 : 1))
    .map(e => String((e as { content: Buffer }).content).trimEnd());
  if (pems.length === 0)
    throw new Error('ca-certificates holds no Mozilla certificates');
  return `${pems.join('\n')}\n`;
}
