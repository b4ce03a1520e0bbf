/**
 * The set-up every integration test file of the job shares: one S3 server (MinIO or versitygw) with a
 * fault proxy in front of it, a scratch directory for target volumes, the request builder and a
 * runJob that passes the server's credentials. Plus the fixtures: deterministic bodies, tar archives,
 * tree and manifest comparisons.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tar from 'tar-stream';
import { MANIFEST_FILE, RestoreRequestInput } from '@kube-restore/common';
import { FaultProxy } from './faultProxy';
import { JobRun, runJob, RunJobOptions } from './job';
import { S3Kind, startTestS3, TestS3 } from './s3';

export interface Harness {
  /** Set in beforeAll. */
  server: TestS3;
  /** A fault proxy in front of `server`; its rules, log and rewrites are cleared after each test. */
  proxy: FaultProxy;
  /** The scratch directory the targets are made in. */
  base: string;
  /** A fresh empty directory under `base`, as the volume. */
  newTarget(): Promise<string>;
  /** The server's root credentials. */
  credentials(): { accessKeyId: string; secretAccessKey: string };
  /** A request for `source` (endpoint and bucket defaulted), named after the next target. */
  request(
    source: Record<string, unknown>,
    extra?: Partial<Pick<RestoreRequestInput, 'target' | 'options'>>,
  ): RestoreRequestInput;
  /** runJob with the server's credentials unless others are given. */
  run(
    options: Omit<RunJobOptions, 'credentials'> &
      Partial<Pick<RunJobOptions, 'credentials'>>,
  ): Promise<JobRun>;
}

/**
 * Starts the server and proxy in beforeAll (then `seed`), stops them in afterAll, clears the proxy
 * after each test. Call at the top of a test file; read the fields inside hooks and tests.
 */
export function useHarness(options: {
  kind: S3Kind;
  /** The bucket requests name by default; created before `seed`. */
  bucket: string;
  /** Requests go through the proxy by default (else straight to the server). */
  viaProxy?: boolean;
  /** Prefix of request names and of the scratch directory. */
  name: string;
  seed?: (h: Harness) => Promise<void>;
}): Harness {
  let n = 0;
  const h: Harness = {
    server: undefined as unknown as TestS3,
    proxy: undefined as unknown as FaultProxy,
    base: '',
    async newTarget() {
      const dir = path.join(h.base, `t${++n}`);
      await fsp.mkdir(dir);
      return dir;
    },
    credentials: () => ({
      accessKeyId: h.server.accessKey,
      secretAccessKey: h.server.secretKey,
    }),
    request: (source, extra = {}) => ({
      name: `${options.name}${n}`,
      source: {
        endpoint: options.viaProxy ? h.proxy.endpoint : h.server.endpoint,
        bucket: options.bucket,
        ...source,
      } as RestoreRequestInput['source'],
      target: { namespace: 'team-a', pvc: 'data', ...(extra.target ?? {}) },
      ...(extra.options ? { options: extra.options } : {}),
    }),
    run: runOptions => runJob({ credentials: h.credentials(), ...runOptions }),
  };
  beforeAll(async () => {
    h.base = await fsp.mkdtemp(path.join(os.tmpdir(), `kr-${options.name}-`));
    h.server = await startTestS3(options.kind);
    h.proxy = await FaultProxy.start(h.server.endpoint);
    await h.server.createBucket(options.bucket);
    await options.seed?.(h);
  });
  afterAll(async () => {
    await h.proxy?.close();
    await h.server?.stop();
    if (h.base) await fsp.rm(h.base, { recursive: true, force: true });
  });
  afterEach(() => h.proxy?.clear());
  return h;
}

/** Deterministic, non-repeating bytes. */
export function body(seed: number, size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (seed * 131 + i * 7 + (i >> 8)) & 0xff;
  return b;
}

export const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

export interface TarEntry {
  name: string;
  body?: string | Buffer;
  type?: 'directory' | 'symlink';
  linkname?: string;
}

/** A tar (ustar) of `entries`, files mode 0644. */
export async function pack(entries: TarEntry[]): Promise<Buffer> {
  const p = tar.pack();
  const out: Buffer[] = [];
  const done = (async () => {
    for await (const c of p as AsyncIterable<Buffer>) out.push(c);
  })();
  for (const e of entries) {
    const content =
      e.body === undefined ? Buffer.alloc(0) : Buffer.from(e.body);
    await new Promise<void>((resolve, reject) =>
      p.entry(
        {
          name: e.name,
          type: e.type ?? 'file',
          linkname: e.linkname,
          size: e.type ? 0 : content.length,
          mode: 0o644,
        },
        content,
        err => (err ? reject(err) : resolve()),
      ),
    );
  }
  p.finalize();
  await done;
  return Buffer.concat(out);
}

/** The restored tree has exactly the expected paths, each with the expected content. */
export function expectTreeEquals(
  tree: Map<string, Buffer>,
  expected: Map<string, Buffer>,
): void {
  expect([...tree.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [k, v] of expected) expect(md5(tree.get(k)!)).toBe(md5(v));
}

/** The lines of the target's manifest. */
export async function manifestOf(
  target: string,
): Promise<Array<Record<string, any>>> {
  return (await fsp.readFile(path.join(target, MANIFEST_FILE), 'utf8'))
    .trim()
    .split('\n')
    .map(l => JSON.parse(l));
}
