/*
 * The identities of a cluster run: a fresh CA, serving certificates (apiserver, each kubelet), client
 * certificates (admin, the controllers, each node as system:node:NAME, alice in team-a, bob), the
 * service account key, static bearer tokens, and a kubeconfig for each person and controller.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Pki } from './pki';

export function kubeconfigYaml(opts: {
  server: string;
  ca: string;
  user: string;
  cert?: string;
  key?: string;
  token?: string;
  namespace?: string;
}): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const userLines = opts.token
    ? [`    token: ${opts.token}`]
    : [
        `    client-certificate-data: ${b64(opts.cert!)}`,
        `    client-key-data: ${b64(opts.key!)}`,
      ];
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: kube-restore-test',
    '  cluster:',
    `    server: ${opts.server}`,
    `    certificate-authority-data: ${b64(opts.ca)}`,
    'users:',
    `- name: ${opts.user}`,
    '  user:',
    ...userLines,
    'contexts:',
    `- name: ${opts.user}@kube-restore-test`,
    '  context:',
    '    cluster: kube-restore-test',
    `    user: ${opts.user}`,
    ...(opts.namespace ? [`    namespace: ${opts.namespace}`] : []),
    `current-context: ${opts.user}@kube-restore-test`,
    '',
  ].join('\n');
}

export async function createIdentities(o: {
  runDir: string;
  apiPort: number;
  nodes: { name: string; ip: string }[];
}) {
  const pki = new Pki(path.join(o.runDir, 'pki'));
  await pki.init();
  const nodeCerts = await Promise.all(
    o.nodes.map(async ({ name, ip }) => ({
      serving: await pki.issue({
        name: `kubelet-${name}`,
        cn: name,
        usage: 'server',
        dns: [name],
        ips: [ip],
      }),
      client: await pki.issue({
        name: `node-${name}`,
        cn: `system:node:${name}`,
        groups: ['system:nodes'],
        usage: 'client',
      }),
    })),
  );
  const [
    apiServing,
    kubeletClient,
    adminCert,
    kcmCert,
    schedCert,
    aliceCert,
    bobCert,
    sa,
  ] = await Promise.all([
    pki.issue({
      name: 'apiserver',
      cn: 'kube-apiserver',
      usage: 'server',
      dns: [
        'localhost',
        'kubernetes',
        'kubernetes.default',
        'kubernetes.default.svc',
        'kubernetes.default.svc.cluster.local',
      ],
      ips: ['127.0.0.1', '10.96.0.1'],
    }),
    pki.issue({
      name: 'apiserver-kubelet-client',
      cn: 'kube-apiserver-kubelet-client',
      groups: ['system:masters'],
      usage: 'client',
    }),
    pki.issue({
      name: 'admin',
      cn: 'kube-restore-admin',
      groups: ['system:masters'],
      usage: 'client',
    }),
    pki.issue({
      name: 'kube-controller-manager',
      cn: 'system:kube-controller-manager',
      usage: 'client',
    }),
    pki.issue({
      name: 'kube-scheduler',
      cn: 'system:kube-scheduler',
      usage: 'client',
    }),
    pki.issue({
      name: 'alice',
      cn: 'alice',
      groups: ['team-a'],
      usage: 'client',
    }),
    pki.issue({ name: 'bob', cn: 'bob', usage: 'client' }),
    pki.serviceAccountKey(),
  ]);

  const server = `https://127.0.0.1:${o.apiPort}`;
  const tokens = {
    alice: crypto.randomBytes(16).toString('hex'),
    bob: crypto.randomBytes(16).toString('hex'),
  };
  const tokenFile = path.join(o.runDir, 'pki', 'tokens.csv');
  fs.writeFileSync(
    tokenFile,
    `${tokens.alice},alice,alice,"team-a"\n${tokens.bob},bob,bob\n`,
  );

  const kcDir = path.join(o.runDir, 'kubeconfig');
  fs.mkdirSync(kcDir, { recursive: true });
  const kubeconfig = {
    admin: path.join(kcDir, 'admin.yaml'),
    operator: path.join(kcDir, 'operator.yaml'),
    alice: path.join(kcDir, 'alice.yaml'),
    bob: path.join(kcDir, 'bob.yaml'),
  };
  const kcmKubeconfig = path.join(kcDir, 'kube-controller-manager.yaml');
  const schedKubeconfig = path.join(kcDir, 'kube-scheduler.yaml');
  fs.writeFileSync(
    schedKubeconfig,
    kubeconfigYaml({
      server,
      ca: pki.ca,
      user: 'kube-scheduler',
      ...schedCert,
    }),
    { mode: 0o600 },
  );
  fs.writeFileSync(
    kubeconfig.admin,
    kubeconfigYaml({ server, ca: pki.ca, user: 'admin', ...adminCert }),
    { mode: 0o600 },
  );
  fs.writeFileSync(
    kubeconfig.alice,
    kubeconfigYaml({
      server,
      ca: pki.ca,
      user: 'alice',
      namespace: 'team-a',
      ...aliceCert,
    }),
    { mode: 0o600 },
  );
  fs.writeFileSync(
    kubeconfig.bob,
    kubeconfigYaml({ server, ca: pki.ca, user: 'bob', ...bobCert }),
    { mode: 0o600 },
  );
  fs.writeFileSync(
    kcmKubeconfig,
    kubeconfigYaml({
      server,
      ca: pki.ca,
      user: 'kube-controller-manager',
      ...kcmCert,
    }),
    { mode: 0o600 },
  );

  return {
    pki,
    nodeCerts,
    apiServing,
    kubeletClient,
    adminCert,
    sa,
    server,
    tokens,
    tokenFile,
    kubeconfig,
    kcmKubeconfig,
    schedKubeconfig,
  };
}
