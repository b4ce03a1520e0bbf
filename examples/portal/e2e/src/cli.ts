/*
 * `npm run portal` (up) and `npm run portal:screenshots` (screenshots): the example portal on the cluster
 * of `npm run cluster:up`. Run through ../scripts/portal.cjs (bundled with esbuild). LOCAL DEVELOPMENT ONLY.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Page } from 'playwright-core';
import {
  launchChromium,
  openRestoreTab,
  planRestore,
  signedIn,
} from './browser';
import {
  ClusterAccess,
  ENTITY,
  NON_OWNER,
  OWNER,
  REPO_ROOT,
  ensureAppBuilt,
  freePort,
  installRestoreRbac,
  seedDemoData,
  startPortalBackend,
} from './portal';

const log = (m: string) => process.stderr.write(`[portal] ${m}\n`);

/** `npm run -s cluster:up` (idempotent): its export lines, and the harness's kubectl from servers.env. */
function clusterUp(): Promise<ClusterAccess> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [path.join(REPO_ROOT, 'test', 'cluster', 'scripts', 'cluster.cjs'), 'up'],
      { cwd: REPO_ROOT, maxBuffer: 1 << 20 },
      (error, stdout) => {
        if (error) {
          reject(new Error('npm run cluster:up failed (see above)'));
          return;
        }
        const env: Record<string, string> = {};
        for (const m of stdout.matchAll(
          /^export (\w+)='((?:[^']|'\\'')*)'$/gm,
        )) {
          env[m[1]] = m[2].replace(/'\\''/g, "'");
        }
        const cache =
          process.env.KUBE_RESTORE_CACHE ||
          path.join(os.homedir(), '.cache', 'kube-restore');
        const serversEnv = path.join(cache, 'servers.env');
        const kubectl = fs.existsSync(serversEnv)
          ? /^KUBECTL=(.+)$/m.exec(fs.readFileSync(serversEnv, 'utf8'))?.[1]
          : undefined;
        const missing = [
          'KUBECONFIG',
          'KUBECONFIG_OPERATOR',
          'KUBE_RESTORE_S3_ENDPOINT',
          'AWS_ACCESS_KEY_ID',
          'AWS_SECRET_ACCESS_KEY',
        ].filter(k => !env[k]);
        if (missing.length || !kubectl) {
          reject(
            new Error(
              `cluster:up did not give ${[...missing, ...(kubectl ? [] : [`KUBECTL in ${serversEnv}`])].join(', ')}`,
            ),
          );
          return;
        }
        resolve({
          adminKubeconfig: env.KUBECONFIG,
          operatorKubeconfig: env.KUBECONFIG_OPERATOR,
          kubectl,
          s3: {
            endpoint: env.KUBE_RESTORE_S3_ENDPOINT,
            accessKeyId: env.AWS_ACCESS_KEY_ID,
            secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
            region: env.AWS_REGION || 'us-east-1',
          },
        });
      },
    );
    child.stderr?.pipe(process.stderr);
  });
}

async function prepare(): Promise<ClusterAccess> {
  log('starting the local cluster and MinIO (npm run cluster:up)');
  const access = await clusterUp();
  await ensureAppBuilt(log);
  log('installing deploy/ and opting team-a in');
  await installRestoreRbac(access);
  log('uploading the demo dataset to s3://datasets/');
  await seedDemoData(access);
  return access;
}

async function portPreferring(preferred: number): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise(resolve => {
    const server = createServer();
    server.once('error', () => resolve(freePort()));
    server.listen(preferred, '127.0.0.1', () =>
      server.close(() => resolve(preferred)),
    );
  });
}

async function up(): Promise<number> {
  const access = await prepare();
  const port = await portPreferring(Number(process.env.PORTAL_PORT || 7007));
  const portal = await startPortalBackend({
    access,
    port,
    inheritOutput: true,
    log,
  });
  process.stderr.write(
    [
      '',
      `  kube-restore example portal: ${portal.url}`,
      '',
      `  LOCAL DEVELOPMENT ONLY: pick a user, no password.`,
      `    ${OWNER}: owns ${ENTITY.kind} ${ENTITY.name} (namespace team-a): may restore into it`,
      `    ${NON_OWNER}: owns nothing: restores are refused`,
      `  The service: ${portal.url}/catalog/${ENTITY.namespace}/${ENTITY.kind}/${ENTITY.name}/restore`,
      '',
      '  Ctrl-C stops the portal; the cluster stays up (npm run cluster:down stops it).',
      '',
    ].join('\n'),
  );
  process.stdout.write(`${portal.url}\n`);
  await new Promise<void>(resolve => {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
      process.once(signal, () => resolve());
  });
  log('stopping the portal');
  await portal.stop();
  return 0;
}

async function shoot(page: Page, name: string) {
  const dir = path.join(REPO_ROOT, 'docs', 'screenshots');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.png`);
  await page.screenshot({ path: file });
  log(`wrote ${path.relative(REPO_ROOT, file)}`);
}

async function screenshots(): Promise<number> {
  const access = await prepare();
  const portal = await startPortalBackend({ access, log });
  const browser = await launchChromium();
  try {
    const { page } = await signedIn(browser, portal.url, OWNER, {
      width: 1440,
      height: 900,
    });
    await openRestoreTab(page);
    await page
      .getByRole('button', { name: 'Restore data' })
      .and(page.locator(':enabled'))
      .waitFor();
    await shoot(page, 'restore-tab');

    const pvc = `shop-data-${Date.now().toString(36)}`;
    const dialog = await planRestore(page, {
      source: 'demo',
      prefix: '',
      pvc,
    });
    const plan = dialog.getByRole('region', { name: 'Plan' });
    await plan.waitFor();
    await plan.scrollIntoViewIfNeeded();
    await shoot(page, 'restore-dialog-plan');

    await dialog.getByRole('button', { name: 'Start restore' }).click();
    await dialog.waitFor({ state: 'hidden' });
    const row = page.getByRole('row').filter({ hasText: pvc });
    await row.getByText('Succeeded').waitFor({ timeout: 180_000 });
    await shoot(page, 'restore-succeeded');
  } finally {
    await browser.close();
    await portal.stop();
  }
  return 0;
}

export async function main(): Promise<void> {
  const command = process.argv[2];
  const commands: Record<string, () => Promise<number>> = { up, screenshots };
  const run = command ? commands[command] : undefined;
  if (!run) {
    log(`usage: portal.cjs ${Object.keys(commands).join('|')}`);
    process.exit(2);
  }
  try {
    process.exit(await run());
  } catch (error) {
    log((error as Error).message);
    process.exit(1);
  }
}
