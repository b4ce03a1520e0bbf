/**
 * Debian packages as image content, the way distroless assembles its images: the pinned .deb is
 * fetched with `apt-get download` (signed by the machine's apt sources, then checked against the
 * pinned sha256), its data tar is read with `dpkg-deb --fsys-tarfile`, and no maintainer script runs.
 * Pins live in debian-packages.json; `pinDebianPackages` rewrites them to the current candidates.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fsp, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import * as tar from 'tar-stream';
import type { LayerEntry } from './oci';
import { JOB_DIR } from './paths';

const execFileAsync = promisify(execFile);

export interface DebianPackage {
  name: string;
  version: string;
  /** Debian's architecture name (amd64, arm64) or `all`. */
  architecture: string;
  /** Of the .deb file. */
  sha256: string;
}

export const PINS_FILE = path.join(
  JOB_DIR,
  'src',
  'image',
  'debian-packages.json',
);

interface Pins {
  comment: string;
  packages: Record<string, DebianPackage[]>;
}

function readPins(): Pins {
  return JSON.parse(readFileSync(PINS_FILE, 'utf8'));
}

/** The pins of `names` for a Debian architecture (amd64, arm64), in the order of `names`. */
export function pinnedPackages(
  names: readonly string[],
  arch: string,
): DebianPackage[] {
  const pinned = readPins().packages[arch] ?? [];
  return names.map(name => {
    const pin = pinned.find(p => p.name === name);
    if (!pin) {
      throw new Error(
        `${PINS_FILE} pins no ${name} for ${arch}: run \`npm run image -- --pin-debian-packages\` on a ${arch} machine`,
      );
    }
    return pin;
  });
}

export function debianArch(arch: string = process.arch): string {
  const known: Record<string, string> = { x64: 'amd64', arm64: 'arm64' };
  const found = known[arch];
  if (!found) throw new Error(`no Debian architecture for ${arch}`);
  return found;
}

/** The .deb of `pkg` in `cacheDir`, downloaded when missing; its sha256 must be the pinned one. */
export async function fetchDeb(
  pkg: DebianPackage,
  cacheDir: string,
): Promise<string> {
  const file = path.join(
    cacheDir,
    `${pkg.name}_${pkg.version.replace(/:/g, '%3a')}_${pkg.architecture}.deb`,
  );
  if ((await sha256OfFile(file).catch(() => undefined)) === pkg.sha256)
    return file;
  await fsp.mkdir(cacheDir, { recursive: true });
  const work = await fsp.mkdtemp(path.join(cacheDir, 'download-'));
  try {
    await aptGetDownload(`${pkg.name}=${pkg.version}`, work, pkg);
    const [downloaded] = await fsp.readdir(work);
    const sha256 = await sha256OfFile(path.join(work, downloaded));
    if (sha256 !== pkg.sha256) {
      throw new Error(
        `${pkg.name} ${pkg.version}: the downloaded .deb has sha256 ${sha256}, ${PINS_FILE} pins ${pkg.sha256}`,
      );
    }
    await fsp.rename(path.join(work, downloaded), file);
    return file;
  } finally {
    await fsp.rm(work, { recursive: true, force: true });
  }
}

async function aptGetDownload(
  spec: string,
  dir: string,
  pinned?: DebianPackage,
): Promise<void> {
  try {
    // As root, apt would hand the download to the _apt user, who cannot write a private temp dir.
    await execFileAsync(
      'apt-get',
      ['download', '-q', '-o', 'APT::Sandbox::User=root', spec],
      { cwd: dir },
    );
  } catch (error) {
    const { code, stderr } = error as { code?: string; stderr?: string };
    if (code === 'ENOENT')
      throw new Error(
        'apt-get is missing: the image is built from Debian packages, on Debian or Ubuntu',
      );
    const hint = pinned
      ? `Run \`apt-get update\`; if Debian no longer serves this version, re-pin with \`npm run image -- --pin-debian-packages\``
      : 'Run `apt-get update`';
    throw new Error(
      `apt-get download ${spec} failed: ${String(stderr ?? error).trim()}. ${hint}`,
    );
  }
}

/** Rewrites the pins of this machine's architecture to the candidates of its apt sources. */
export async function pinDebianPackages(
  names: readonly string[],
  cacheDir: string,
): Promise<DebianPackage[]> {
  const pins = readPins();
  await fsp.mkdir(cacheDir, { recursive: true });
  const work = await fsp.mkdtemp(path.join(cacheDir, 'pin-'));
  try {
    const packages: DebianPackage[] = [];
    for (const name of names) {
      await aptGetDownload(name, work);
      const file = path.join(
        work,
        (await fsp.readdir(work)).find(f => f.startsWith(`${name}_`))!,
      );
      const control = parseControl(
        (await execFileAsync('dpkg-deb', ['-f', file])).stdout,
      );
      packages.push({
        name,
        version: control.Version,
        architecture: control.Architecture,
        sha256: await sha256OfFile(file),
      });
    }
    pins.packages[debianArch()] = packages;
    await fsp.writeFile(PINS_FILE, `${JSON.stringify(pins, null, 2)}\n`);
    return packages;
  } finally {
    await fsp.rm(work, { recursive: true, force: true });
  }
}

export interface DebContents {
  /** The control file, as `dpkg-deb -f` prints it. */
  control: string;
  /** Every entry of the data tar, paths absolute; hard links become copies of their file. */
  entries: Array<LayerEntry & { content?: Buffer }>;
}

/** Reads a .deb's control file and data tar (with dpkg-deb; nothing is installed or run). */
export async function readDeb(file: string): Promise<DebContents> {
  const control = (await execFileAsync('dpkg-deb', ['-f', file])).stdout;
  const entries: DebContents['entries'] = [];
  const files = new Map<string, Buffer>();
  const child = spawn('dpkg-deb', ['--fsys-tarfile', file], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', chunk => (stderr += chunk));
  const exited = new Promise<number | null>(resolve =>
    child.on('close', resolve),
  );
  const extract = tar.extract();
  child.stdout.pipe(extract);
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    const { header } = entry;
    const name = header.name.replace(/^\.?\/?/, '').replace(/\/$/, '');
    if (name === '') continue;
    const entryPath = `/${name}`;
    const where = `${path.basename(file)}: ${entryPath}`;
    // Modes are normalised: executable or not (no setuid, group or world write from a package).
    const mode = ((header.mode ?? 0) & 0o111) !== 0 ? 0o755 : 0o644;
    if (header.type === 'directory') {
      entries.push({ path: entryPath, type: 'directory' });
    } else if (header.type === 'file') {
      const content = Buffer.concat(chunks);
      files.set(entryPath, content);
      entries.push({ path: entryPath, type: 'file', content, mode });
    } else if (header.type === 'symlink') {
      entries.push({
        path: entryPath,
        type: 'symlink',
        target: header.linkname!,
      });
    } else if (header.type === 'link') {
      const target = files.get(`/${header.linkname!.replace(/^\.?\/?/, '')}`);
      if (!target)
        throw new Error(
          `${where}: hard link to ${header.linkname}, not seen before it`,
        );
      entries.push({ path: entryPath, type: 'file', content: target, mode });
    } else {
      throw new Error(
        `${where}: a ${header.type} entry; only files, directories and links are expected`,
      );
    }
  }
  const code = await exited;
  if (code !== 0)
    throw new Error(
      `dpkg-deb --fsys-tarfile ${file} failed (${code}): ${stderr.trim()}`,
    );
  return { control, entries };
}

/** The fields of one control paragraph (continuation lines joined with newlines). */
export function parseControl(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  let last: string | undefined;
  for (const line of text.split('\n')) {
    if (/^\s/.test(line) && last) fields[last] += `\n${line.trim()}`;
    else {
      const match = /^([^:\s]+):\s*(.*)$/.exec(line);
      if (match) fields[(last = match[1])] = match[2];
    }
  }
  return fields;
}

export async function sha256OfFile(file: string): Promise<string> {
  return createHash('sha256')
    .update(await fsp.readFile(file))
    .digest('hex');
}
