import { readFileSync } from 'node:fs';
import path from 'node:path';

const JOB_DIR = path.resolve(__dirname, '..');

/** bundle.json's options as esbuild's command-line flags. */
function asFlags(options: Record<string, unknown>): string[] {
  return Object.entries(options).map(([key, value]) => {
    const flag = `--${key.replace(/[A-Z]/g, c => `-${c.toLowerCase()}`)}`;
    if (value === true) return flag;
    return `${flag}=${Array.isArray(value) ? value.join(',') : String(value)}`;
  });
}

/** The flags of the Dockerfile's esbuild command, without the output's own (outfile, legal comments). */
function dockerfileFlags(dockerfile: string): string[] {
  const command = /RUN \S*esbuild (.*?)(?:&&|$)/s.exec(
    dockerfile.replace(/\\\n/g, ' '),
  );
  if (!command) throw new Error('no esbuild command in job-image/Dockerfile');
  return command[1]
    .split(/\s+/)
    .filter(f => f.startsWith('--'))
    .filter(f => !/^--(outfile|legal-comments)=/.test(f));
}

describe('the bundle', () => {
  const options = JSON.parse(
    readFileSync(path.join(JOB_DIR, 'bundle.json'), 'utf8'),
  );

  it('is built with the same esbuild options in the image as by build.mjs and the tests', () => {
    const dockerfile = readFileSync(path.join(JOB_DIR, 'Dockerfile'), 'utf8');
    expect(dockerfileFlags(dockerfile).sort()).toEqual(asFlags(options).sort());
    const buildScript = readFileSync(path.join(JOB_DIR, 'build.mjs'), 'utf8');
    expect(buildScript).toContain("'bundle.json'");
  });

  it("takes the AWS SDK's ES modules, so that what the job never sends is left out", () => {
    expect(options.mainFields).toEqual(['module', 'main']);
    const bundle = readFileSync(
      require('../src/__testUtils__/job').ensureBundle(),
      'utf8',
    );
    // A command the job sends is in, one it never sends (PutObject) is not.
    expect(bundle).toContain('ListObjectsV2Command');
    expect(bundle).not.toContain('PutObjectCommand');
  });
});
