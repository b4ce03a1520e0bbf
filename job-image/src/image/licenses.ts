/**
 * The licences of the npm packages bundled into restore-job.cjs, for the image's
 * /app/THIRD-PARTY-LICENSES.txt: the bundle redistributes their code, and most of their licences
 * (MIT, Apache-2.0, BSD) ask that the notice goes with it. Which packages: those esbuild's metafile
 * says contributed bytes to the output.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Metafile } from 'esbuild';

interface BundledPackage {
  name: string;
  version: string;
  license: string;
  text: string;
}

/** The package directory of a bundled file: the part up to node_modules/<name> or node_modules/@scope/<name>. */
function packageDirOf(file: string): string | undefined {
  const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(file);
  return match?.[1];
}

/** One text: each package (sorted by name and version), its licence field and its licence file(s). */
export function thirdPartyLicenses(
  metafile: Metafile,
  workingDir: string,
): string {
  const dirs = new Set<string>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const dir = bytesInOutput > 0 ? packageDirOf(input) : undefined;
      if (dir) dirs.add(path.resolve(workingDir, dir));
    }
  }
  const packages: BundledPackage[] = [];
  for (const dir of dirs) {
    const manifest = JSON.parse(
      readFileSync(path.join(dir, 'package.json'), 'utf8'),
    );
    const files = readdirSync(dir)
      .filter(f => /^(licen[cs]e|copying|notice)(\.(md|txt))?$/i.test(f))
      .sort();
    packages.push({
      name: manifest.name,
      version: manifest.version,
      license:
        typeof manifest.license === 'string'
          ? manifest.license
          : 'no licence field',
      text: files.length
        ? files
            .map(f => readFileSync(path.join(dir, f), 'utf8').trim())
            .join('\n\n')
        : `(the package ships no licence file; its package.json says: ${manifest.license ?? 'nothing'})`,
    });
  }
  // Many packages share one text (the AWS SDK's Apache-2.0): each text once, with who it is for.
  const byText = new Map<string, string[]>();
  for (const p of packages.sort((a, b) =>
    `${a.name}@${a.version}` < `${b.name}@${b.version}` ? -1 : 1,
  )) {
    byText.set(p.text, [
      ...(byText.get(p.text) ?? []),
      `${p.name}@${p.version} (${p.license})`,
    ]);
  }
  return [
    'restore-job.cjs bundles the following npm packages; their licences follow.',
    '',
    ...packages.map(p => `${p.name}@${p.version} (${p.license})`),
    ...[...byText.entries()].map(
      ([text, names]) =>
        `\n${'='.repeat(80)}\n${names.join('\n')}\n${'='.repeat(80)}\n\n${text}`,
    ),
    '',
  ].join('\n');
}
