/**
 * job-image/Dockerfile and the image that `npm run image` builds without Docker must be the same
 * image to whoever runs it: entrypoint and node flags, user, working directory, environment, what
 * /app holds, and the Node line. (jobImage.test.ts checks that the built archive carries
 * JOB_IMAGE_CONFIG.)
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DISTROLESS_ENV, JOB_IMAGE_CONFIG } from './jobImage';
import { nodeVersion } from './nodeRuntime';
import { JOB_DIR } from './paths';

interface Instruction {
  keyword: string;
  args: string;
}

/** The Dockerfile's instructions (continuation lines joined, comments dropped), by stage. */
function parseDockerfile(text: string): Instruction[][] {
  const stages: Instruction[][] = [];
  const lines = text
    .split('\n')
    .filter(line => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n');
  for (const line of lines) {
    const match = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!match) continue;
    const instruction = {
      keyword: match[1].toUpperCase(),
      args: match[2].trim(),
    };
    if (instruction.keyword === 'FROM') stages.push([]);
    stages[stages.length - 1].push(instruction);
  }
  return stages;
}

/** `ENV A=1 B=2` (the key=value form; values without spaces or quotes, as this Dockerfile writes them). */
function envOf(stage: Instruction[]): string[] {
  return stage
    .filter(i => i.keyword === 'ENV')
    .flatMap(i => i.args.split(/\s+/))
    .map(pair => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*=[^"'\s]*$/.test(pair))
        throw new Error(`ENV ${pair}: not KEY=VALUE`);
      return pair;
    });
}

function only(stage: Instruction[], keyword: string): string {
  const found = stage.filter(i => i.keyword === keyword);
  if (found.length !== 1)
    throw new Error(
      `the runtime stage has ${found.length} ${keyword} instructions, not 1`,
    );
  return found[0].args;
}

describe('job-image/Dockerfile and the image built without Docker', () => {
  const stages = parseDockerfile(
    readFileSync(path.join(JOB_DIR, 'Dockerfile'), 'utf8'),
  );
  const runtime = stages[stages.length - 1];
  const major = nodeVersion().split('.')[0];

  it('run the same program the same way: entrypoint, user, working directory, environment', () => {
    expect(JSON.parse(only(runtime, 'ENTRYPOINT'))).toEqual(
      JOB_IMAGE_CONFIG.Entrypoint,
    );
    expect(only(runtime, 'USER')).toBe(JOB_IMAGE_CONFIG.User);
    expect(only(runtime, 'WORKDIR')).toBe(JOB_IMAGE_CONFIG.WorkingDir);
    // The Dockerfile's image inherits the distroless base's env, then adds its own.
    expect(JOB_IMAGE_CONFIG.Env).toEqual([
      ...DISTROLESS_ENV,
      ...envOf(runtime),
    ]);
    expect(
      runtime.some(i =>
        ['CMD', 'SHELL', 'VOLUME', 'EXPOSE'].includes(i.keyword),
      ),
    ).toBe(false);
  });

  it('put the bundles at /app, where the entrypoint runs the program and it starts the hash worker', () => {
    const copy = only(runtime, 'COPY').split(/\s+/);
    expect(copy[0]).toBe('--from=build');
    expect(copy.slice(1, -1)).toEqual([
      '/src/job-image/dist/restore-job.cjs*',
      '/src/job-image/dist/hash-worker.cjs*',
      '/src/job-image/dist/control-client.cjs*',
      '/src/job-image/dist/native.node',
    ]);
    expect(copy[copy.length - 1]).toBe(`${JOB_IMAGE_CONFIG.WorkingDir}/`);
    expect(JOB_IMAGE_CONFIG.Entrypoint).toContain('/app/restore-job.cjs');
  });

  it('compile the native addon as build.mjs does: native/native.json, beside the bundles', () => {
    const native = JSON.parse(
      readFileSync(path.join(JOB_DIR, 'native', 'native.json'), 'utf8'),
    );
    const runs = stages[0]
      .filter(i => i.keyword === 'RUN')
      .map(i => i.args.replace(/\s+/g, ' '));
    const compile = [
      'cd job-image && gcc',
      ...native.cflags,
      '-I /usr/local/include/node',
      ...native.sources,
      `-o dist/${native.outName}`,
    ].join(' ');
    expect(runs.filter(run => run.includes(compile))).toHaveLength(1);
    expect(stages[0]).toContainEqual({
      keyword: 'COPY',
      args: 'job-image/native job-image/native',
    });
  });

  it(`build and run on Node ${major}, the line of scripts/versions.env's NODE_VERSION`, () => {
    expect(stages[0][0].args).toBe(`node:${major}-bookworm-slim AS build`);
    expect(runtime[0].args).toBe(
      `gcr.io/distroless/nodejs${major}-debian12:nonroot`,
    );
    const bundle = JSON.parse(
      readFileSync(path.join(JOB_DIR, 'bundle.json'), 'utf8'),
    );
    expect(bundle.target).toBe(`node${major}`);
    expect(JOB_IMAGE_CONFIG.Entrypoint?.[0]).toBe('/nodejs/bin/node');
  });
});
