import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  awsConfigFile,
  jobCommand,
  JOB_NODE_FLAGS,
  mcCaFile,
  peerCopy,
} from './tools';

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

describe('peerCopy and jobCommand over HTTPS, with a concurrency sweep', () => {
  const ctx = {
    server: {
      endpoint: 'https://127.0.0.1:9443',
      region: 'us-east-1',
      accessKeyId: 'k',
      secretAccessKey: 's',
      bucket: 'bench',
    },
    bins: {
      node: '/usr/bin/node',
      jobBundle: '/b/restore-job.cjs',
      s5cmd: '/bin/s5cmd',
      rclone: '/bin/rclone',
      mc: '/bin/mc',
      aws: '/usr/bin/aws',
    },
    concurrency: 16,
    confDir: '/conf',
    replacements: [],
    caFile: '/pki/ca.crt',
    jobDefaults: true,
  } as unknown as Parameters<typeof jobCommand>[0];

  it('gives every tool the CA its own way', () => {
    expect(jobCommand(ctx, { prefix: 'b/' }, '/t').env.AWS_CA_BUNDLE).toBe(
      '/pki/ca.crt',
    );
    expect(peerCopy(ctx, 's5cmd', 'b/', '/t').env.AWS_CA_BUNDLE).toBe(
      '/pki/ca.crt',
    );
    expect(peerCopy(ctx, 'aws', 'b/', '/t').env.AWS_CA_BUNDLE).toBe(
      '/pki/ca.crt',
    );
    const rclone = peerCopy(ctx, 'rclone', 'b/', '/t').argv;
    expect(rclone.slice(rclone.indexOf('--ca-cert'))).toEqual([
      '--ca-cert',
      '/pki/ca.crt',
    ]);
    expect(mcCaFile(ctx)).toBe('/conf/mc/certs/CAs/ca.crt');
  });

  it('runs the job at its default concurrency and each peer at the swept one', () => {
    const req = JSON.parse(
      jobCommand(ctx, { prefix: 'b/' }, '/t').env.KUBE_RESTORE_REQUEST,
    );
    expect(req.options.concurrency).toBeUndefined();
    const s5 = peerCopy(ctx, 's5cmd', 'b/', '/t', 256);
    expect(s5.label).toBe('s5cmd --numworkers 256');
    expect(s5.argv).toContain('256');
    const aws = peerCopy(ctx, 'aws', 'b/', '/t', 64);
    expect(aws.label).toBe('aws max_concurrent_requests 64');
    expect(aws.env.AWS_CONFIG_FILE).toBe(awsConfigFile(ctx, 64));
    expect(peerCopy(ctx, 'mc', 'b/', '/t').label).toBe('mc');
  });

  it("passes each peer's ranged-part flags its own way, and names them", () => {
    const parts = { sizeMiB: 16, streams: 8 };
    const s5 = peerCopy(ctx, 's5cmd', 'a/', '/t', 16, parts);
    // cp's own flags, after the subcommand
    expect(s5.argv.slice(s5.argv.indexOf('cp'), -2)).toEqual([
      'cp',
      '--part-size',
      '16',
      '--concurrency',
      '8',
    ]);
    expect(s5.label).toBe(
      's5cmd --numworkers 16 --part-size 16 --concurrency 8',
    );
    const rc = peerCopy(ctx, 'rclone', 'a/', '/t', 16, parts).argv;
    expect(rc).toEqual(
      expect.arrayContaining([
        '--multi-thread-cutoff',
        '32Mi',
        '--multi-thread-chunk-size',
        '16Mi',
        '--multi-thread-streams',
        '8',
      ]),
    );
    expect(rc[rc.indexOf('--multi-thread-streams') + 1]).toBe('8');
    expect(() => peerCopy(ctx, 'aws', 'a/', '/t', 16, parts)).toThrow(
      /takes no part flags/,
    );
    expect(peerCopy(ctx, 's5cmd', 'a/', '/t', 16).argv).not.toContain(
      '--part-size',
    );
  });
});
