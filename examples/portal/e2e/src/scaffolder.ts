/*
 * Drives the scaffolder's pages in chromium (Backstage 1.55, new frontend system) by their accessible names:
 * open a template, fill its form, review, create, and follow the task page to its end.
 */
import { Page } from 'playwright-core';

/** The example template (examples/portal/template.yaml). */
export const TEMPLATE = { namespace: 'default', name: 'restore-into-new-pvc' };

/** Waits until the catalog has processed the template (it is read from a file location). */
export async function templateReady(
  url: string,
  token: string,
  timeoutMs = 60_000,
) {
  const deadline = Date.now() + timeoutMs;
  let status = 0;
  while (Date.now() < deadline) {
    status = (
      await fetch(
        `${url}/api/catalog/entities/by-name/template/${TEMPLATE.namespace}/${TEMPLATE.name}`,
        { headers: { authorization: `Bearer ${token}` } },
      )
    ).status;
    if (status === 200) return;
    await new Promise(r => setTimeout(r, 500));
  }
  throw new Error(
    `the catalog answered ${status} for template ${TEMPLATE.name}`,
  );
}

/**
 * Runs the template with these text fields (by their titles) and returns the task id once the task page
 * is open. The fields not given keep the template's defaults.
 */
export async function runTemplate(
  page: Page,
  fields: Record<string, string>,
): Promise<string> {
  await page.goto(`/create/templates/${TEMPLATE.namespace}/${TEMPLATE.name}`);
  for (const [label, value] of Object.entries(fields)) {
    const box = page.getByRole('textbox', { name: label });
    await box.waitFor();
    await box.fill(value);
  }
  await page.getByRole('button', { name: 'Review', exact: true }).click();
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await page.waitForURL('**/create/tasks/**');
  const id = /\/create\/tasks\/([^/?#]+)/.exec(page.url())?.[1];
  if (!id) throw new Error(`no task id in ${page.url()}`);
  return id;
}

/** The task's state from the scaffolder's API, polled until it is completed or failed. */
export async function taskEnd(
  url: string,
  token: string,
  id: string,
  timeoutMs = 240_000,
): Promise<{ status: string; output?: unknown; log: string[] }> {
  const deadline = Date.now() + timeoutMs;
  const headers = { authorization: `Bearer ${token}` };
  for (;;) {
    const res = await fetch(`${url}/api/scaffolder/v2/tasks/${id}`, {
      headers,
    });
    if (!res.ok)
      throw new Error(`task ${id}: ${res.status} ${await res.text()}`);
    const task = (await res.json()) as { status: string };
    if (
      ['completed', 'failed', 'cancelled'].includes(task.status) ||
      Date.now() > deadline
    ) {
      const events = await fetch(
        `${url}/api/scaffolder/v2/tasks/${id}/events`,
        { headers },
      ).then(
        r =>
          r.json() as Promise<
            { type: string; body: { message?: string; output?: unknown } }[]
          >,
      );
      return {
        status: task.status,
        output: events.find(e => e.type === 'completion')?.body.output,
        log: events.map(e => e.body.message ?? '').filter(Boolean),
      };
    }
    await new Promise(r => setTimeout(r, 1000));
  }
}
