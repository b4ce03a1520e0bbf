import { readFileSync } from 'node:fs';
import path from 'node:path';
import { jobCommand, JOB_NODE_FLAGS } from './tools';

const REPO = path.resolve(__dirname, '..', '..');

describe('jobCommand', () => {
  const ctx = {
    server: {
      endpoint: 'http://127.0.0.1:9000',
      region: 'us-east-1',
      accessKeyId: 'k',
      secretAccessKey: 's',
      bucket: 'bench',
    },
    bins: { node: '/usr/bin/node', jobBundle: '/b/restore-job.cjs' },
    concurrency: 16,
    confDir: '/conf',
    replacements: [],
  } as unknown as Parameters<typeof jobCommand>[0];

  it('builds a command that runs the bundle with the node flags of the job container', () => {
    const dockerfile = readFileSync(
      path.join(REPO, 'job-image', 'Dockerfile'),
      'utf8',
    );
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile);
    expect(entrypoint).not.toBeNull();
    expect(JSON.parse(entrypoint![1])).toEqual([
      '/nodejs/bin/node',
      ...JOB_NODE_FLAGS,
      '/app/restore-job.cjs',
    ]);
    const cmd = jobCommand(ctx, { prefix: 'a/' }, '/target', ['--cpu-prof']);
    expect(cmd.argv).toEqual([
      '/usr/bin/node',
      ...JOB_NODE_FLAGS,
      '--cpu-prof',
      '/b/restore-job.cjs',
    ]);
  });
});
