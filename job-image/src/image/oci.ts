/**
 * Writes an OCI image archive (a tar of an OCI image layout, what `skopeo copy oci-archive:FILE` and
 * `ctr images import` read) that also carries Docker's `manifest.json`, so `docker load` and
 * `kind load image-archive` take it too. No Docker, no daemon: layers are tars made here from lists
 * of files.
 *
 * Deterministic: the same arguments give the same bytes, hence the same manifest digest. Every
 * entry has one fixed mtime (`created`), uid/gid 0 unless given, no user or group names; entries
 * are sorted by path, parents first; modes default to 0755 (directories) and 0644 (files).
 * Layers are gzip-compressed with Node's zlib at a fixed level.
 *
 *   const image = await writeOciArchive({
 *     path: 'dist/pause.oci.tar',
 *     reference: 'registry.k8s.io/pause:3.10',
 *     config: { entrypoint: ['/pause'], user: '65535:65535' },
 *     layers: [{ name: 'pause', entries: [{ path: '/pause', type: 'file', source: 'bin/pause', mode: 0o755 }] }],
 *   });
 *   image.digest  // sha256:... of the manifest, what a registry and containerd call the image by
 */
import { createHash, Hash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import * as tar from 'tar-stream';

/** One entry of a layer. Paths are absolute inside the image (`/etc/passwd`); parents need not be listed. */
export type LayerEntry =
  | {
      path: string;
      type: 'directory';
      mode?: number;
      uid?: number;
      gid?: number;
    }
  | {
      path: string;
      type: 'file';
      /** The bytes, or `source`: a file on this machine to copy (read when the layer is written). */
      content?: string | Buffer;
      source?: string;
      mode?: number;
      uid?: number;
      gid?: number;
    }
  | {
      path: string;
      type: 'symlink';
      target: string;
      uid?: number;
      gid?: number;
    };

export interface Layer {
  /** What the layer is; the config's history names it (`docker history`). */
  name: string;
  entries: LayerEntry[];
}

/** The runtime part of an OCI image config (image-spec config.md), in its own field names. */
export interface ImageRunConfig {
  User?: string;
  WorkingDir?: string;
  Env?: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  Labels?: Record<string, string>;
}

export interface OciArchiveOptions {
  /** Where to write the archive; written to a temporary name first, then renamed. */
  path: string;
  /** `name:tag`, e.g. `ghcr.io/kube-restore/restore-job:0.1.0`: the name containerd and Docker give the image. */
  reference: string;
  config: ImageRunConfig;
  /** Bottom first. */
  layers: Layer[];
  /** The mtime of every entry and the config's `created`; default SOURCE_DATE_EPOCH, else 1970-01-01. */
  created?: Date;
  /** Default linux and this machine's architecture. */
  platform?: { os: string; architecture: string };
  /**
   * A directory where compressed layers are kept by their uncompressed digest, so that an unchanged
   * layer is not compressed again (gzip is most of the time of a build).
   */
  cacheDir?: string;
}

export interface OciArchive {
  path: string;
  reference: string;
  /** The manifest's digest (`sha256:...`): the image's identity. */
  digest: string;
  /** Bytes of the archive. */
  size: number;
  /** Per layer: compressed digest and size, and the uncompressed digest (the config's diff_id) and size. */
  layers: Array<{
    name: string;
    digest: string;
    size: number;
    diffId: string;
    uncompressedSize: number;
  }>;
}

export const MEDIA_TYPES = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

const GZIP_LEVEL = 6;

/** Writes the archive; see the module's comment. Throws on an invalid reference, path, mode or duplicate entry. */
export async function writeOciArchive(
  options: OciArchiveOptions,
): Promise<OciArchive> {
  const { name, tag } = parseReference(options.reference);
  const created = options.created ?? defaultCreated();
  const platform = options.platform ?? {
    os: 'linux',
    architecture: goArch(process.arch),
  };
  if (options.layers.length === 0)
    throw new Error('an image needs at least one layer');
  const layerEntries = options.layers.map(layer => ({
    name: layer.name,
    entries: normaliseEntries(layer.entries, layer.name),
  }));

  const work = await fsp.mkdtemp(`${options.path}.tmp-`);
  try {
    const layers: LayerBlob[] = [];
    const described: OciArchive['layers'] = [];
    for (const [i, layer] of layerEntries.entries()) {
      const blob = await writeLayer(
        layer.entries,
        created,
        path.join(work, `layer-${i}`),
        options.cacheDir,
      );
      layers.push(blob);
      described.push({
        name: layer.name,
        digest: blob.digest,
        size: blob.size,
        diffId: blob.diffId,
        uncompressedSize: blob.uncompressedSize,
      });
    }

    const config = jsonBlob({
      created: created.toISOString(),
      architecture: platform.architecture,
      os: platform.os,
      config: options.config,
      rootfs: { type: 'layers', diff_ids: layers.map(l => l.diffId) },
      history: options.layers.map(l => ({
        created: created.toISOString(),
        created_by: l.name,
      })),
    });
    const manifest = jsonBlob({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.manifest,
      config: {
        mediaType: MEDIA_TYPES.config,
        digest: config.digest,
        size: config.size,
      },
      layers: layers.map(l => ({
        mediaType: MEDIA_TYPES.layer,
        digest: l.digest,
        size: l.size,
      })),
    });
    const index = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.index,
      manifests: [
        {
          mediaType: MEDIA_TYPES.manifest,
          digest: manifest.digest,
          size: manifest.size,
          platform,
          annotations: {
            'io.containerd.image.name': `${name}:${tag}`,
            'org.opencontainers.image.ref.name': tag,
          },
        },
      ],
    };
    // Docker's own archive format, read by `docker load` (and by containerd when there is no index.json).
    const dockerManifest = [
      {
        Config: blobPath(config.digest),
        RepoTags: [`${name}:${tag}`],
        Layers: layers.map(l => blobPath(l.digest)),
      },
    ];

    const files: ArchiveFile[] = [
      { name: 'blobs/', directory: true as const },
      { name: 'blobs/sha256/', directory: true as const },
      ...uniqueBy([config, manifest, ...layers], b => b.digest).map(b => ({
        name: blobPath(b.digest),
        blob: b,
      })),
      { name: 'index.json', blob: jsonBlob(index) },
      { name: 'manifest.json', blob: jsonBlob(dockerManifest) },
      { name: 'oci-layout', blob: jsonBlob({ imageLayoutVersion: '1.0.0' }) },
    ].sort((a, b) => compare(a.name, b.name));

    const partial = path.join(work, 'archive.tar');
    await writeArchive(files, created, partial);
    await fsp.rename(partial, options.path);
    const { size } = await fsp.stat(options.path);
    return {
      path: options.path,
      reference: `${name}:${tag}`,
      digest: manifest.digest,
      size,
      layers: described,
    };
  } finally {
    await fsp.rm(work, { recursive: true, force: true });
  }
}

/** Splits `name:tag`; the name must be lower case (a registry path), the tag as Docker allows. */
export function parseReference(reference: string): {
  name: string;
  tag: string;
} {
  const match =
    /^([a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*):([\w][\w.-]{0,127})$/.exec(
      reference,
    );
  if (!match) {
    throw new Error(
      `invalid image reference "${reference}": expected NAME:TAG, e.g. ghcr.io/kube-restore/restore-job:0.1.0`,
    );
  }
  return { name: match[1], tag: match[2] };
}

/** SOURCE_DATE_EPOCH (seconds, as reproducible-builds.org defines it) or the Unix epoch. */
function defaultCreated(): Date {
  const raw = process.env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw === '') return new Date(0);
  if (!/^\d+$/.test(raw))
    throw new Error(
      `SOURCE_DATE_EPOCH must be whole seconds since 1970, not "${raw}"`,
    );
  return new Date(Number(raw) * 1000);
}

function goArch(arch: string): string {
  const known: Record<string, string> = {
    x64: 'amd64',
    arm64: 'arm64',
    arm: 'arm',
    ppc64: 'ppc64le',
    s390x: 's390x',
  };
  const found = known[arch];
  if (!found) throw new Error(`no OCI architecture name for ${arch}`);
  return found;
}

// ---- entries ------------------------------------------------------------------------------------

/** Tar entry names are relative (`etc/passwd`, directories with a trailing `/`). */
interface TarEntry {
  name: string;
  entry: LayerEntry;
}

/** Validates, adds missing parent directories (0755 root), sorts parents first. */
function normaliseEntries(entries: LayerEntry[], layer: string): TarEntry[] {
  const byPath = new Map<string, LayerEntry>();
  for (const entry of entries) {
    const where = `layer "${layer}", entry "${entry.path}"`;
    if (
      !/^(\/[^/\0]+)+$/.test(entry.path) ||
      entry.path.split('/').some(p => p === '.' || p === '..')
    ) {
      throw new Error(
        `${where}: a path must be absolute and normal (/a/b, no ., .., // or trailing /)`,
      );
    }
    if (byPath.has(entry.path)) throw new Error(`${where}: listed twice`);
    for (const id of [entry.uid, entry.gid]) {
      if (
        id !== undefined &&
        !(Number.isInteger(id) && id >= 0 && id < 2 ** 21)
      ) {
        throw new Error(
          `${where}: uid and gid must be whole numbers from 0 to 2097151`,
        );
      }
    }
    if (entry.type === 'symlink') {
      if (!entry.target) throw new Error(`${where}: a symlink needs a target`);
    } else if (
      entry.mode !== undefined &&
      !(Number.isInteger(entry.mode) && entry.mode > 0 && entry.mode <= 0o7777)
    ) {
      throw new Error(
        `${where}: mode must be from 01 to 07777, not ${entry.mode}`,
      );
    }
    if (
      entry.type === 'file' &&
      (entry.content === undefined) === (entry.source === undefined)
    ) {
      throw new Error(
        `${where}: a file needs exactly one of content and source`,
      );
    }
    byPath.set(entry.path, entry);
  }
  for (const entryPath of [...byPath.keys()]) {
    for (
      let dir = path.posix.dirname(entryPath);
      dir !== '/';
      dir = path.posix.dirname(dir)
    ) {
      const parent = byPath.get(dir);
      if (parent && parent.type !== 'directory') {
        throw new Error(
          `layer "${layer}", entry "${entryPath}": its parent ${dir} is a ${parent.type}`,
        );
      }
      if (!parent) byPath.set(dir, { path: dir, type: 'directory' });
    }
  }
  return [...byPath.values()]
    .map(entry => ({
      name: entry.path.slice(1) + (entry.type === 'directory' ? '/' : ''),
      entry,
    }))
    .sort((a, b) => compare(a.name, b.name));
}

/** Byte order of the UTF-8 names, so the order does not depend on a locale. */
function compare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

// ---- layers -------------------------------------------------------------------------------------

interface Blob {
  digest: string;
  size: number;
  /** In memory, or in a file. */
  bytes?: Buffer;
  file?: string;
}

interface LayerBlob extends Blob {
  diffId: string;
  uncompressedSize: number;
}

/** An entry's content: bytes, a file to copy, or none (directories, symlinks). */
type Content = Buffer | { file: string; size: number } | undefined;
type Header = Partial<tar.Header> & { name: string };
type AddEntry = (header: Header, content?: Content) => Promise<void>;

/**
 * A tar stream (as a Node stream) of what `produce` adds, in the order it adds it. tar-stream writes
 * one entry at a time and applies back-pressure through each entry's callback.
 */
function tarStream(produce: (add: AddEntry) => Promise<void>): Readable {
  const pack = tar.pack();
  const add: AddEntry = (header, content) =>
    new Promise<void>((resolve, reject) => {
      const done = (error?: Error | null) =>
        error ? reject(error) : resolve();
      if (content === undefined || Buffer.isBuffer(content)) {
        if (content) pack.entry(header, content, done);
        else pack.entry(header, done);
        return;
      }
      const sink = pack.entry({ ...header, size: content.size }, done);
      (async () => {
        for await (const chunk of createReadStream(content.file)) {
          if (!sink.write(chunk)) {
            await new Promise<void>(drained =>
              sink.once('drain', () => drained()),
            );
          }
        }
        // streamx's end() takes an optional last chunk; its types say it is required.
        (sink as unknown as { end(): void }).end();
      })().catch(error => sink.destroy(error));
    });
  produce(add).then(
    () => pack.finalize(),
    error => pack.destroy(error),
  );
  return Readable.from(pack);
}

function packEntries(entries: TarEntry[], mtime: Date): Readable {
  return tarStream(async add => {
    for (const { name, entry } of entries) {
      const header = { name, mtime, uid: entry.uid ?? 0, gid: entry.gid ?? 0 };
      if (entry.type === 'directory') {
        await add({ ...header, type: 'directory', mode: entry.mode ?? 0o755 });
      } else if (entry.type === 'symlink') {
        await add({
          ...header,
          type: 'symlink',
          mode: 0o777,
          linkname: entry.target,
        });
      } else {
        const content: Content =
          entry.content !== undefined
            ? Buffer.from(entry.content)
            : {
                file: entry.source!,
                size: (await fsp.stat(entry.source!)).size,
              };
        await add(
          { ...header, type: 'file', mode: entry.mode ?? 0o644 },
          content,
        );
      }
    }
  });
}

/** A pass-through that hashes and counts what goes by. */
class Measure extends Transform {
  bytes = 0;
  private readonly hash: Hash = createHash('sha256');
  private done?: string;

  _transform(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (error: null, chunk: Buffer) => void,
  ): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }

  /** `sha256:<hex>` of everything that went by; call it once the stream has ended. */
  digest(): string {
    this.done ??= `sha256:${this.hash.digest('hex')}`;
    return this.done;
  }
}

function measure(): Measure {
  return new Measure();
}

async function writeLayer(
  entries: TarEntry[],
  mtime: Date,
  file: string,
  cacheDir?: string,
): Promise<LayerBlob> {
  // First the uncompressed digest: with a cache, an unchanged layer is not compressed again.
  const plain = measure();
  await pipeline(
    packEntries(entries, mtime),
    plain,
    new Writable({ write: (_c, _e, cb) => cb() }),
  );
  const diffId = plain.digest();
  const uncompressedSize = plain.bytes;
  const cached =
    cacheDir &&
    path.join(
      cacheDir,
      `${diffId.slice(7)}.gzip${GZIP_LEVEL}-zlib${process.versions.zlib}.tar.gz`,
    );
  if (cached) {
    const hit = await hashFile(cached).catch(() => undefined);
    if (hit) return { ...hit, file: cached, diffId, uncompressedSize };
  }

  const check = measure();
  const compressed = measure();
  await pipeline(
    packEntries(entries, mtime),
    check,
    createGzip({ level: GZIP_LEVEL }),
    compressed,
    createWriteStream(file),
  );
  if (check.digest() !== diffId) {
    throw new Error(
      `a layer came out different twice from the same entries (${diffId}, ${check.digest()}): did a source file change?`,
    );
  }
  if (cached) {
    await fsp.mkdir(cacheDir, { recursive: true });
    const partial = `${cached}.${process.pid}.tmp`;
    await fsp.copyFile(file, partial);
    await fsp.rename(partial, cached);
  }
  return {
    digest: compressed.digest(),
    size: compressed.bytes,
    file,
    diffId,
    uncompressedSize,
  };
}

async function hashFile(
  file: string,
): Promise<{ digest: string; size: number }> {
  const measured = measure();
  await pipeline(
    createReadStream(file),
    measured,
    new Writable({ write: (_c, _e, cb) => cb() }),
  );
  return { digest: measured.digest(), size: measured.bytes };
}

// ---- the archive --------------------------------------------------------------------------------

function jsonBlob(value: unknown): Blob & { bytes: Buffer } {
  const bytes = Buffer.from(JSON.stringify(value));
  return {
    bytes,
    size: bytes.length,
    digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
  };
}

function blobPath(digest: string): string {
  return `blobs/sha256/${digest.slice('sha256:'.length)}`;
}

function uniqueBy<T>(items: T[], key: (item: T) => string): T[] {
  return [...new Map(items.map(item => [key(item), item])).values()];
}

type ArchiveFile =
  { name: string; directory: true } | { name: string; blob: Blob };

async function writeArchive(
  files: ArchiveFile[],
  mtime: Date,
  file: string,
): Promise<void> {
  const archive = tarStream(async add => {
    for (const f of files) {
      const header = { name: f.name, mtime, uid: 0, gid: 0 };
      if ('directory' in f)
        await add({ ...header, type: 'directory', mode: 0o755 });
      else
        await add(
          { ...header, type: 'file', mode: 0o644 },
          f.blob.bytes ?? { file: f.blob.file!, size: f.blob.size },
        );
    }
  });
  await pipeline(archive, createWriteStream(file));
}
