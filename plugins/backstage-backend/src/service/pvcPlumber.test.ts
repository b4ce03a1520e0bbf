/*
 * pvc-plumber's contract as a Kyverno ClusterPolicy calls it (examples/zero-touch/kyverno-policy.yaml):
 * the HTTP request Kyverno's apiCall sends for a `service` call (GET, the URL with the namespace and PVC
 * name substituted, only the headers the policy lists plus those Go's client adds), and the reading Kyverno
 * does of the answer (non-2xx is an error; the body is JSON, searched with JMESPath). The backend is the real
 * restore plugin with Backstage's real auth (a static externalAccess token, as the policy sends it), and
 * the backups are in a real MinIO. The restore's cluster is never called for this route.
 */
import {
  CreateBucketCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { authServiceFactory } from '@backstage/backend-defaults/auth';
import { httpAuthServiceFactory } from '@backstage/backend-defaults/httpAuth';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { S3Server, startS3Server } from '@kube-restore/test-cluster';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import jmespath from 'jmespath';
import { parse } from 'yaml';
import { restoreSourceSpecSchema } from '@kube-restore/common';
import { restorePlugin } from '../plugin';

jest.setTimeout(120_000);

const KYVERNO_TOKEN = 'kyverno-static-token-d0-not-leak-0123456789';
const POLICY = parse(
  fs.readFileSync(
    path.resolve(
      __dirname,
      '../../../../examples/zero-touch/kyverno-policy.yaml',
    ),
    'utf8',
  ),
);

let s3: S3Server;

beforeAll(async () => {
  s3 = await startS3Server();
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: {
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
    },
  });
  await client.send(new CreateBucketCommand({ Bucket: 'volsync-backup' }));
  // A restic repository's layout under the PVC's prefix, as VolSync writes it.
  await client.send(
    new PutObjectCommand({
      Bucket: 'volsync-backup',
      Key: 'karakeep/data-pvc/config',
      Body: 'x',
    }),
  );
  client.destroy();
}, 120_000);

afterAll(async () => {
  await s3?.stop();
});

async function backend(bucket = 'volsync-backup') {
  const source = {
    name: 'volsync',
    endpoint: s3.endpoint,
    region: s3.region,
    bucket,
    prefix: '${namespace}/',
    credentials: {
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
    },
  };
  return startTestBackend({
    features: [
      restorePlugin,
      // Backstage's own token handling, not the test backend's mock tokens: the static token is checked as in production.
      authServiceFactory,
      httpAuthServiceFactory,
      mockServices.rootConfig.factory({
        data: {
          backend: {
            baseUrl: 'http://127.0.0.1',
            auth: {
              externalAccess: [
                {
                  type: 'static',
                  options: { token: KYVERNO_TOKEN, subject: 'kyverno' },
                },
              ],
            },
          },
          kubeRestore: {
            clusters: [
              {
                name: 'local',
                url: 'https://127.0.0.1:1',
                serviceAccountToken: 'unused',
              },
            ],
            sources: [source],
            exists: { source: 'volsync', template: '${namespace}/${pvc}/' },
          },
        },
      }),
    ],
  });
}

/**
 * The request Kyverno's apiCall executor sends for `service: {url, headers}` with method GET: Go's
 * net/http client, so Host, User-Agent Go-http-client/1.1 and Accept-Encoding gzip, plus the listed headers.
 */
function kyvernoGet(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: 'GET',
      headers: {
        'User-Agent': 'Go-http-client/1.1',
        ...headers,
        'Accept-Encoding': 'gzip',
      },
    });
    req.on('response', res => {
      const chunks: Buffer[] = [];
      res.on('data', c => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode!,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * What Kyverno makes of the answer (pkg/engine/apicall): a status outside 2xx is an error of the context
 * entry; otherwise the body is parsed as JSON and, with `jmesPath`, searched. Returns the context value.
 */
function kyvernoContextEntry(
  answer: { status: number; body: string },
  jmesPathExpression?: string,
): unknown {
  if (answer.status < 200 || answer.status >= 300)
    throw new Error(`HTTP ${answer.status}: ${answer.body}`);
  const data = JSON.parse(answer.body);
  return jmesPathExpression ? jmespath.search(data, jmesPathExpression) : data;
}

/** Kyverno's `{{ expression }}` substitution, for the JMESPath expressions the example policy uses. */
function substitute(template: string, context: object): unknown {
  const whole = /^\{\{\s*(.+?)\s*\}\}$/.exec(template);
  if (whole) return jmespath.search(context, whole[1]);
  return template.replace(/\{\{\s*(.+?)\s*\}\}/g, (_, e) =>
    String(jmespath.search(context, e)),
  );
}

/**
 * Rule 1 of the example policy, as Kyverno evaluates it for a new PVC: its context entries (the token from
 * the Secret, then the apiCall to the backend at `base`), its preconditions, and its mutation.
 * Returns the dataSourceRef it adds, or undefined when a precondition does not hold.
 */
async function admitPvc(
  base: string,
  namespace: string,
  pvc: string,
  token: string,
) {
  const rule = POLICY.spec.rules[0];
  // The Secret kube-restore-exists-token through the rule's first entry: Kubernetes answers its data in
  // base64, and Kyverno's base64_decode (an extension to JMESPath) decodes it.
  expect(rule.context[0].apiCall.jmesPath).toBe(
    'data.token | base64_decode(@)',
  );
  const secret = { data: { token: Buffer.from(token).toString('base64') } };
  const context: Record<string, unknown> = {
    request: { object: { metadata: { namespace, name: pvc }, spec: {} } },
    existsToken: Buffer.from(
      jmespath.search(secret, 'data.token'),
      'base64',
    ).toString(),
  };
  const call = rule.context[1].apiCall;
  expect(call.method).toBe('GET');
  const url = String(substitute(call.service.url, context)).replace(
    /^http:\/\/backstage\.backstage\.svc\.cluster\.local:7007/,
    base,
  );
  const headers = Object.fromEntries(
    call.service.headers.map((h: { key: string; value: string }) => [
      h.key,
      String(substitute(h.value, context)),
    ]),
  );
  context[rule.context[1].name] = kyvernoContextEntry(
    await kyvernoGet(url, headers),
  );
  const holds = rule.preconditions.all.every(
    (c: { key: string; operator: string; value: unknown }) =>
      c.operator === 'Equals' && substitute(c.key, context) === c.value,
  );
  if (!holds) return undefined;
  const ref = rule.mutate.patchStrategicMerge.spec.dataSourceRef;
  return { ...ref, name: substitute(ref.name, context) };
}

describe("pvc-plumber's exists contract, as a Kyverno apiCall calls it", () => {
  it('answers {exists, keyCount}; the example policy adds the dataSourceRef only when a backup exists', async () => {
    const b = await backend();
    try {
      const base = `http://127.0.0.1:${b.server.port()}`;
      const auth = { Authorization: `Bearer ${KYVERNO_TOKEN}` };
      const url = (ns: string, pvc: string) =>
        `${base}/api/restore/pvc-plumber/exists/${ns}/${pvc}`;

      const found = await kyvernoGet(url('karakeep', 'data-pvc'), auth);
      expect(found.status).toBe(200);
      expect(JSON.parse(found.body)).toEqual({ exists: true, keyCount: 1 });
      // pvc-plumber's first published policy reads it with `jmesPath: exists`.
      expect(kyvernoContextEntry(found, 'exists')).toBe(true);
      const none = await kyvernoGet(url('karakeep', 'other-pvc'), auth);
      expect(none.status).toBe(200);
      expect(JSON.parse(none.body)).toEqual({ exists: false, keyCount: 0 });
      expect(kyvernoContextEntry(none, 'exists')).toBe(false);

      // The example policy, end to end: a PVC with a backup gets the dataSourceRef, one without does not.
      expect(
        await admitPvc(base, 'karakeep', 'data-pvc', KYVERNO_TOKEN),
      ).toEqual({
        apiGroup: 'kube-restore.io',
        kind: 'RestoreSource',
        name: 'data-pvc',
      });
      expect(
        await admitPvc(base, 'karakeep', 'other-pvc', KYVERNO_TOKEN),
      ).toBeUndefined();
    } finally {
      await b.stop();
    }
  });

  it("the RestoreSource the example policy generates is valid for kube-restore's schema", () => {
    const rule = POLICY.spec.rules[1];
    expect(rule.generate).toMatchObject({
      apiVersion: 'kube-restore.io/v1alpha1',
      kind: 'RestoreSource',
    });
    const context = {
      request: {
        object: { metadata: { namespace: 'karakeep', name: 'data-pvc' } },
      },
    };
    const spec = JSON.parse(
      JSON.stringify(rule.generate.data.spec, (_, v) =>
        typeof v === 'string' ? substitute(v, context) : v,
      ),
    );
    expect(spec.source.prefix).toBe('karakeep/data-pvc/');
    const parsed = restoreSourceSpecSchema.safeParse(spec);
    expect(parsed.error?.issues ?? []).toEqual([]);
    // Both rules ask the same question of the same URL.
    expect(rule.context).toEqual(POLICY.spec.rules[0].context);
    expect(rule.preconditions).toEqual(POLICY.spec.rules[0].preconditions);
  });

  it('fails open: an unreadable bucket is 200 with exists false and the error, so the PVC is created empty', async () => {
    const b = await backend('no-such-bucket');
    try {
      const base = `http://127.0.0.1:${b.server.port()}`;
      const answer = await kyvernoGet(
        `${base}/api/restore/pvc-plumber/exists/karakeep/data-pvc`,
        { Authorization: `Bearer ${KYVERNO_TOKEN}` },
      );
      expect(answer.status).toBe(200);
      const body = JSON.parse(answer.body);
      expect(body).toEqual({
        exists: false,
        keyCount: 0,
        error: expect.stringMatching(/no-such-bucket/),
      });
      expect(kyvernoContextEntry(answer, 'exists')).toBe(false);
      expect(answer.body).not.toContain(s3.secretAccessKey);
      // fail-open: the example policy leaves the PVC as it is, and it is created empty
      expect(
        await admitPvc(base, 'karakeep', 'data-pvc', KYVERNO_TOKEN),
      ).toBeUndefined();
    } finally {
      await b.stop();
    }
  });

  it('refuses a caller without the token (401) and a name that cannot be a PVC (400, exists false)', async () => {
    const b = await backend();
    try {
      const base = `http://127.0.0.1:${b.server.port()}`;
      const url = `${base}/api/restore/pvc-plumber/exists/karakeep/data-pvc`;
      const anonymous = await kyvernoGet(url, {});
      expect(anonymous.status).toBe(401);
      expect(() => kyvernoContextEntry(anonymous)).toThrow(/HTTP 401/);
      const wrong = await kyvernoGet(url, {
        Authorization: 'Bearer not-the-token',
      });
      expect(wrong.status).toBe(401);

      const bad = await kyvernoGet(
        `${base}/api/restore/pvc-plumber/exists/Karakeep/data-pvc`,
        {
          Authorization: `Bearer ${KYVERNO_TOKEN}`,
        },
      );
      expect(bad.status).toBe(400);
      expect(JSON.parse(bad.body)).toEqual({
        exists: false,
        error: expect.stringMatching(/^namespace "Karakeep" /),
      });
    } finally {
      await b.stop();
    }
  });
});
