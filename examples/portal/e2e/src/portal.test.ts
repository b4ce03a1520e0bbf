/*
 * The example portal in a real browser: Debian's chromium (playwright-core) against the portal backend
 * (app, auth, catalog, permission with the owners policy, the restore plugin) on the real harness cluster
 * (kube-apiserver with RBAC and Pod Security, Job controller, the local kubelet running the job program)
 * with MinIO. The owner restores the demo dataset from the entity's Restore tab; a user who does not own
 * the entity is refused. The owner also runs the example software template (examples/portal/template.yaml),
 * whose kube-restore scaffolder actions restore into a new PVC. Missing prerequisites (chromium, the job program) fail the suite; nothing is skipped.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Browser, Locator } from 'playwright-core';
import { Cluster, startCluster } from '@kube-restore/test-cluster';
import {
  CHROMIUM,
  launchChromium,
  openRestoreTab,
  planRestore,
  signedIn,
} from './browser';
import { runTemplate, taskEnd, templateReady } from './scaffolder';
import {
  ENTITY,
  ENTITY_NAMESPACE,
  NON_OWNER,
  OWNER,
  RunningPortal,
  devSignIn,
  ensureAppBuilt,
  installRestoreRbac,
  seedDemoData,
  startPortalBackend,
} from './portal';

jest.setTimeout(240_000);

const log = (m: string) => process.stderr.write(`[portal-e2e] ${m}\n`);

/** The files scripts/demo-data.mjs uploads under s3://datasets/demo/. */
function demoFiles(): string[] {
  const files = ['README.txt'];
  const ext: Record<string, string> = {
    images: 'bin',
    labels: 'csv',
    meta: 'json',
  };
  for (const kind of ['images', 'labels', 'meta'])
    for (let dir = 0; dir < 10; dir++)
      for (let i = 0; i < 10; i++)
        files.push(
          `${kind}/shard-${String(dir).padStart(2, '0')}/item-${String(i).padStart(3, '0')}.${ext[kind]}`,
        );
  return files.sort();
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(path.join(d, entry.name), r);
      else out.push(r);
    }
  };
  walk(dir, '');
  return out.sort();
}

let cluster: Cluster | undefined;
let portal: RunningPortal | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  // Prerequisites first: a missing one fails the suite at once.
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium); .ci/run does`,
    );
  }
  // the cluster's nodes run the job image; startCluster() refuses one older than its sources
  const started = Date.now();
  let lap = started;
  const took = (what: string) => {
    log(`${what}: ${((Date.now() - lap) / 1000).toFixed(1)}s`);
    lap = Date.now();
  };
  await ensureAppBuilt(log);
  took('app bundle');
  cluster = await startCluster();
  if (!cluster.s3) throw new Error('the harness started without MinIO');
  took('cluster');
  const access = {
    adminKubeconfig: cluster.kubeconfig.admin,
    operatorKubeconfig: cluster.kubeconfig.operator,
    kubectl: cluster.binaries.kubectl,
    s3: cluster.s3,
  };
  await installRestoreRbac(access);
  await seedDemoData(access);
  took('deploy/ and demo data');
  portal = await startPortalBackend({ access, log });
  took('backend');
  browser = await launchChromium();
  took('chromium');
  log(`set up in ${((Date.now() - started) / 1000).toFixed(1)}s`);
}, 900_000);

afterAll(async () => {
  await browser?.close();
  await portal?.stop();
  await cluster?.stop();
}, 120_000);

describe('the example portal in chromium', () => {
  it('the owner plans and starts a restore on the Restore tab, watches it reach Succeeded, finds the files in the PVC, and deletes it', async () => {
    const { context, page } = await signedIn(browser!, portal!.url, OWNER);
    try {
      await openRestoreTab(page);
      const pvc = `shop-e2e-${Date.now().toString(36)}`;
      const dialog = await planRestore(page, {
        source: 'demo',
        prefix: '',
        pvc,
      });

      // The plan, from the backend's POST /plan: the demo dataset's 301 objects into team-a.
      const plan = dialog.getByRole('region', { name: 'Plan' });
      await plan.waitFor();
      await expectText(plan.getByRole('definition'), '301');
      await expectText(plan, `namespace ${ENTITY_NAMESPACE}`);

      const start = dialog.getByRole('button', { name: 'Start restore' });
      await start.and(page.locator(':enabled')).waitFor();
      await start.click();
      await dialog.waitFor({ state: 'hidden' });

      // The restores table: the new row follows the restore to Succeeded with a full progress bar.
      const row = page.getByRole('row').filter({ hasText: pvc });
      const bar = row.getByRole('progressbar', { name: /^Restore progress / });
      await bar.waitFor();
      const seen = new Set<string>();
      const deadline = Date.now() + 180_000;
      let text = '';
      while (Date.now() < deadline) {
        text = (await row.innerText()).replace(/\s+/g, ' ');
        seen.add(text);
        if (/\b(Succeeded|Failed)\b/.test(text)) break;
        await page.waitForTimeout(250);
      }
      expect(text).toContain('Succeeded');
      // It was followed live: the row showed the restore before it ended.
      expect(
        [...seen].some(t => /\b(Pending|Planning|Running|Verifying)\b/.test(t)),
      ).toBe(true);
      expect(await bar.getAttribute('aria-valuenow')).toBe('100');
      log(`row states seen: ${[...seen].join(' | ')}`);

      // The data landed in the PVC's directory: every file of the dataset, README with its text, next to
      // the job program's own bookkeeping in .kube-restore/.
      const dir = await cluster!.pvcPath(ENTITY_NAMESPACE, pvc);
      const files = filesUnder(dir);
      expect(files.filter(f => !f.startsWith('.kube-restore/'))).toEqual(
        demoFiles(),
      );
      expect(files).toContain('.kube-restore/restore-id');

      // Delete, confirmed: the Job goes, the PVC and its data stay (deleting the PVC is a separate choice).
      const jobsOfPvc = async () =>
        (
          await cluster!.admin.get(
            `/apis/batch/v1/namespaces/${ENTITY_NAMESPACE}/jobs`,
          )
        ).items.filter((j: any) => JSON.stringify(j.spec).includes(pvc));
      expect(await jobsOfPvc()).toHaveLength(1);
      await row.getByRole('button', { name: 'Delete', exact: true }).click();
      const confirm = page.getByRole('dialog', { name: /^Delete restore/ });
      await confirm
        .getByRole('button', { name: 'Delete', exact: true })
        .click();
      await confirm.waitFor({ state: 'hidden' });
      const gone = Date.now() + 30_000;
      while ((await jobsOfPvc()).length > 0 && Date.now() < gone)
        await page.waitForTimeout(250);
      expect(await jobsOfPvc()).toEqual([]);
      expect(fs.existsSync(path.join(dir, 'README.txt'))).toBe(true);
      expect(fs.readFileSync(path.join(dir, 'README.txt'), 'utf8')).toBe(
        'kube-restore demo dataset: 300 files in nested folders.\n',
      );
    } finally {
      await context.close();
    }
  });

  it('the owner runs the example template: its kube-restore steps restore the demo dataset into a new PVC', async () => {
    const { context, page } = await signedIn(browser!, portal!.url, OWNER);
    try {
      const pvc = `scaffolded-${Date.now().toString(36)}`;
      const token = await devSignIn(portal!.url, OWNER);
      await templateReady(portal!.url, token);
      const id = await runTemplate(page, { 'PVC name': pvc });
      // The task page follows the steps; the scaffolder's API says how the task ended and what it logged.
      const task = await taskEnd(portal!.url, token, id);
      log(`template task ${id}: ${task.status}; ${task.log.join(' | ')}`);
      expect(task.status).toBe('completed');
      expect(JSON.stringify(task.output)).toMatch(
        new RegExp(`into PVC ${pvc} in local/${ENTITY_NAMESPACE}: Succeeded, `),
      );
      // The task page shows the template's output: the wait step's summary.
      await expectText(
        page.locator('body'),
        `into PVC ${pvc} in local/${ENTITY_NAMESPACE}: Succeeded`,
      );

      const files = filesUnder(await cluster!.pvcPath(ENTITY_NAMESPACE, pvc));
      expect(files.filter(f => !f.startsWith('.kube-restore/'))).toEqual(
        demoFiles(),
      );
      // The restore was made for guest (the backend records the template's user, not the scaffolder).
      const restores = await fetch(
        `${portal!.url}/api/restore/restores?namespace=${ENTITY_NAMESPACE}`,
        { headers: { authorization: `Bearer ${token}` } },
      ).then(
        r =>
          r.json() as Promise<{ items: { pvc: string; requester: string }[] }>,
      );
      expect(restores.items.find(r => r.pvc === pvc)).toMatchObject({
        requester: 'user:default/guest',
      });
    } catch (error) {
      const shot = path.join(os.tmpdir(), 'portal-scaffolder-failure.png');
      await page.screenshot({ path: shot }).catch(() => {});
      log(`the page when it failed: ${shot}`);
      throw error;
    } finally {
      await context.close();
    }
  });

  it('a user who does not own the service is refused: the action is disabled with a reason, and the backend answers 403', async () => {
    const { context, page } = await signedIn(browser!, portal!.url, NON_OWNER);
    try {
      await openRestoreTab(page);
      const button = page.getByRole('button', { name: 'Restore data' });
      await button.waitFor();
      expect(await button.isDisabled()).toBe(true);
      await expectText(page.getByRole('main'), /not allowed|permission|owner/i);

      // The button is only a courtesy: the backend itself refuses the same request from this user.
      const token = await devSignIn(portal!.url, NON_OWNER);
      const res = await fetch(`${portal!.url}/api/restore/restores`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({
          entityRef: `${ENTITY.kind}:${ENTITY.namespace}/${ENTITY.name}`,
          source: { name: 'demo', path: '' },
          target: { pvc: 'outsider-was-here' },
        }),
      });
      expect(res.status).toBe(403);
      const jobs = await cluster!.admin.get(
        `/apis/batch/v1/namespaces/${ENTITY_NAMESPACE}/jobs`,
      );
      expect(
        jobs.items.filter((j: any) =>
          JSON.stringify(j).includes('outsider-was-here'),
        ),
      ).toEqual([]);
    } finally {
      await context.close();
    }
  });
});

/** Waits until the locator's text matches (a playwright-core page has no expect of its own). */
async function expectText(
  locator: Locator,
  text: string | RegExp,
  timeoutMs = 30_000,
) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    last = (await locator.allInnerTexts()).join('\n');
    if (typeof text === 'string' ? last.includes(text) : text.test(last))
      return;
    await new Promise(r => setTimeout(r, 200));
  }
  expect(last).toMatch(text);
}
