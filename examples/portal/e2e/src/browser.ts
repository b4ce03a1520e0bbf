/*
 * Drives the portal with Debian's chromium through playwright-core (no downloaded browsers): sign-in,
 * the entity's Restore tab and the restore dialog, by their accessible names.
 */
import * as fs from 'node:fs';
import { Browser, BrowserContext, Page, chromium } from 'playwright-core';
import { ENTITY } from './portal';

export const CHROMIUM =
  process.env.KUBE_RESTORE_CHROMIUM || '/usr/bin/chromium';

/**
 * Launches chromium headless. playwright-core gives every launch a fresh temporary profile
 * (--user-data-dir) and removes it on close; every user gets a fresh context of its own.
 */
export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium); browsers are never downloaded`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A fresh context (own cookies and storage) signed in as one of the portal's dev users. */
export async function signedIn(
  browser: Browser,
  url: string,
  user: string,
  viewport = { width: 1280, height: 860 },
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ baseURL: url, viewport });
  const page = await context.newPage();
  await page.goto('/');
  await page.getByRole('button', { name: `Sign in as ${user}` }).click();
  // Signed in: the app's sidebar shows the catalog.
  await page.getByRole('link', { name: 'Catalog' }).first().waitFor();
  return { context, page };
}

export const entityPath = `/catalog/${ENTITY.namespace}/${ENTITY.kind}/${ENTITY.name}`;

/**
 * Opens the entity page and its Restore tab. The catalog of Backstage 1.55 (new frontend system) renders
 * entity tabs as links in a "Content navigation" landmark, not as role=tab.
 */
export async function openRestoreTab(page: Page): Promise<void> {
  await page.goto(entityPath);
  await page
    .getByRole('navigation', { name: 'Content navigation' })
    .getByRole('link', { name: 'Restore', exact: true })
    .click();
  await page.waitForURL(`**${entityPath}/restore`);
}

/** Opens the restore dialog, fills it in and asks for a plan; returns the dialog. */
export async function planRestore(
  page: Page,
  input: { source: string; prefix: string; pvc: string },
) {
  await page.getByRole('button', { name: 'Restore data' }).click();
  const dialog = page.getByRole('dialog', { name: 'Restore data' });
  await dialog.waitFor();
  await chooseSource(page, dialog, input.source);
  await dialog.getByLabel('Prefix', { exact: true }).fill(input.prefix);
  await dialog.getByLabel('PVC name', { exact: true }).fill(input.pvc);
  await dialog.getByRole('button', { name: 'Plan' }).click();
  return dialog;
}

/** The Source field is a select (Material UI or native); picks the option whose text contains `source`. */
async function chooseSource(
  page: Page,
  dialog: ReturnType<Page['getByRole']>,
  source: string,
) {
  const field = dialog.getByLabel('Source', { exact: true });
  const tag = await field.evaluate(el => el.tagName.toLowerCase());
  if (tag === 'select') {
    const options = await field.locator('option').evaluateAll(els =>
      els.map(e => ({
        value: (e as HTMLOptionElement).value,
        text: e.textContent ?? '',
      })),
    );
    const match = options.find(
      o => o.value === source || o.text.includes(source),
    );
    if (!match) {
      throw new Error(
        `no Source option "${source}" (have ${options.map(o => o.text).join(', ')})`,
      );
    }
    await field.selectOption(match.value);
    return;
  }
  await field.click();
  await page.getByRole('option').filter({ hasText: source }).first().click();
}
