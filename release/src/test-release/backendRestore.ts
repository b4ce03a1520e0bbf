/** Step 6: one restore through the backend plugin installed in step 4's project, on the harness. */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../versions.ts';
import { check, noCluster, step } from './context.ts';
import { findKubectl, sh, waitForHealth } from './tools.ts';

/**
 * 6. One restore through the installed backend plugin on the harness: the catalog (with one entity in
 * team-a), the operator's identity from the harness, deploy/ applied, team-a opted in and consenting to
 * the entity's owner, a static service token allowed to write (kubeRestore.serviceAccess).
 */
export async function checkBackendRestore(tmp: string): Promise<void> {
  if (noCluster) {
    step(
      '6. NOT RUN (--no-cluster): a restore through the installed backend plugin',
    );
    return;
  }
  const operatorKubeconfig = process.env.KUBECONFIG_OPERATOR;
  check(
    operatorKubeconfig,
    '6. needs KUBECONFIG_OPERATOR from `npm run -s cluster:up`',
  );
  step('6. a restore through the installed backend plugin, on the harness');
  const kubeconfigText = fs.readFileSync(operatorKubeconfig!, 'utf8');
  const field = (name: string) => {
    const m = new RegExp(`^\\s*${name}:\\s*(\\S+)\\s*$`, 'm').exec(
      kubeconfigText,
    );
    check(m, `${operatorKubeconfig} has no ${name}`);
    return m![1];
  };
  const kubectl = findKubectl();
  const admin = { ...process.env, KUBECONFIG: process.env.KUBECONFIG };
  sh(kubectl, ['apply', '-k', path.join(REPO_ROOT, 'deploy')], { env: admin });
  sh(
    kubectl,
    ['apply', '-k', path.join(REPO_ROOT, 'deploy/rbac/opt-in'), '-n', 'team-a'],
    {
      env: admin,
    },
  );
  sh(
    kubectl,
    [
      '-n',
      'team-a',
      'annotate',
      'rolebinding',
      'kube-restore-operator',
      '--overwrite',
      'kube-restore.io/backstage-owners=group:default/release-team',
    ],
    { env: admin },
  );

  const app = path.join(tmp, 'adopter');
  fs.writeFileSync(
    path.join(app, 'catalog.yaml'),
    `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: shop
  annotations:
    backstage.io/kubernetes-namespace: team-a
spec:
  type: service
  lifecycle: production
  owner: group:default/release-team
`,
  );
  fs.writeFileSync(
    path.join(app, 'src/backend-with-catalog.cjs'),
    `const { createBackend } = require('@backstage/backend-defaults');
const backend = createBackend();
backend.add(import('@backstage/plugin-catalog-backend'));
backend.add(import('@kube-restore/backstage-plugin-restore-backend'));
backend.start();
`,
  );
  const token = crypto.randomBytes(24).toString('hex');
  const port = 20000 + crypto.randomInt(20000);
  const base = `http://127.0.0.1:${port}`;
  // JSON is YAML; secrets from the environment, as adopters would.
  fs.writeFileSync(
    path.join(app, 'app-config.harness.yaml'),
    JSON.stringify({
      backend: {
        baseUrl: base,
        listen: { host: '127.0.0.1', port },
        database: { client: 'better-sqlite3', connection: ':memory:' },
        auth: {
          externalAccess: [
            {
              type: 'static',
              options: {
                token: '${RELEASE_TEST_TOKEN}',
                // Backstage passes the subject through as configured; the plugin expects external:...
                subject: 'external:release-test',
              },
            },
          ],
        },
      },
      catalog: {
        rules: [{ allow: ['Component'] }],
        locations: [{ type: 'file', target: path.join(app, 'catalog.yaml') }],
      },
      kubeRestore: {
        clusters: [
          {
            name: 'harness',
            url: field('server'),
            caData: field('certificate-authority-data'),
            serviceAccountToken: '${RELEASE_TEST_OPERATOR_TOKEN}',
          },
        ],
        sources: [
          {
            name: 'demo',
            endpoint: process.env.KUBE_RESTORE_S3_ENDPOINT,
            region: process.env.AWS_REGION ?? 'us-east-1',
            bucket: 'datasets',
            prefix: 'demo/',
            shared: true,
            credentials: {
              accessKeyId: '${AWS_ACCESS_KEY_ID}',
              secretAccessKey: '${AWS_SECRET_ACCESS_KEY}',
            },
          },
        ],
        serviceAccess: {
          read: true,
          write: [
            {
              subject: 'external:release-test',
              owners: ['group:default/release-team'],
            },
          ],
        },
      },
    }),
  );
  let output = '';
  const child = spawn(
    process.execPath,
    ['src/backend-with-catalog.cjs', '--config', 'app-config.harness.yaml'],
    {
      cwd: app,
      env: {
        ...process.env,
        NODE_ENV: 'production',
        NODE_OPTIONS: '',
        RELEASE_TEST_TOKEN: token,
        RELEASE_TEST_OPERATOR_TOKEN: field('token'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout!.on('data', d => (output += d));
  child.stderr!.on('data', d => (output += d));
  const headers = {
    authorization: `Bearer ${token}`,
    'content-type': 'application/json',
  };
  const until = async <T>(
    what: string,
    ms: number,
    f: () => Promise<T | undefined>,
  ): Promise<T> => {
    const deadline = Date.now() + ms;
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`the backend exited:\n${output.slice(0, 6000)}`);
      try {
        const v = await f();
        if (v !== undefined) return v;
      } catch {
        // not yet
      }
      if (Date.now() > deadline)
        throw new Error(
          `${what}: not within ${ms / 1000} s\n${output.slice(-6000)}`,
        );
      await new Promise(r => setTimeout(r, 1000));
    }
  };
  try {
    await waitForHealth(`${base}/api/restore/health`, child, () =>
      output.slice(0, 6000),
    );
    await until('the catalog has component:default/shop', 120_000, async () => {
      const r = await fetch(
        `${base}/api/catalog/entities/by-name/component/default/shop`,
        { headers },
      );
      return r.ok ? true : undefined;
    });
    const name = `release-be-${crypto.randomBytes(3).toString('hex')}`;
    const created = await fetch(`${base}/api/restore/restores`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        entityRef: 'component:default/shop',
        name,
        source: { name: 'demo' },
        target: { pvc: name, mode: 'new', size: '1Gi' },
      }),
    });
    const createdBody = await created.text();
    check(
      created.status === 201,
      `POST /api/restore/restores: ${created.status} ${createdBody}`,
    );
    const id = JSON.parse(createdBody).id;
    check(id, `POST /api/restore/restores answered no id: ${createdBody}`);
    const final = await until('the restore ends', 240_000, async () => {
      const r = await fetch(
        `${base}/api/restore/restores/${encodeURIComponent(id)}`,
        { headers },
      );
      const v = (await r.json()) as { phase?: string };
      return v.phase === 'Succeeded' || v.phase === 'Failed' ? v : undefined;
    });
    check(
      final.phase === 'Succeeded',
      `the backend's restore ended ${JSON.stringify(final).slice(0, 800)}`,
    );
    step(`   POST /api/restore/restores -> ${id}: Succeeded`);
    await fetch(
      `${base}/api/restore/restores/${encodeURIComponent(id)}?deletePvc=true`,
      {
        method: 'DELETE',
        headers,
      },
    );
  } finally {
    child.kill('SIGTERM');
  }
}
