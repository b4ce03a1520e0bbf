import { registerMswTestHooks } from '@backstage/test-utils';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import {
  BASE_URL,
  ENTITY_REF,
  HttpResponse,
  TestEventStream,
  entity,
  errorResponse,
  http,
  planFixture,
  sizeFixture,
  restoreFixture,
  server,
  sources,
} from '../../__testUtils__/backend';
import { renderWithApis } from '../../__testUtils__/render';
import type { Restore, RestoreBody } from '../../api';
import { EntityRestoreContent } from './EntityRestoreContent';

registerMswTestHooks(server);
// MUI dialogs render slowly in jsdom on a busy machine.
jest.setTimeout(20000);

/** The backend's list, and the sources; tests add their own handlers on top. */
function backend(items: Restore[]) {
  server.use(
    http.get(`${BASE_URL}/restores`, () => HttpResponse.json({ items })),
    http.get(`${BASE_URL}/sources`, () =>
      HttpResponse.json({ items: sources }),
    ),
    http.post(`${BASE_URL}/plan`, () => HttpResponse.json(planFixture())),
  );
}

/** Plans, waits for the plan on screen, then starts: the only way a restore starts. */
async function planAndStart(dialog: HTMLElement) {
  fireEvent.click(within(dialog).getByRole('button', { name: 'Plan' }));
  await within(dialog).findByRole('region', { name: 'Plan' });
  const start = within(dialog).getByRole('button', { name: 'Start restore' });
  await waitFor(() => expect(start).toBeEnabled());
  fireEvent.click(start);
}

function rowOf(name: string): HTMLElement {
  return screen
    .getByRole('progressbar', { name: `Restore progress ${name}` })
    .closest('tr')!;
}

/** The Delete button of the only row, once the permission decision has arrived. */
async function deleteButton(): Promise<HTMLElement> {
  const button = await screen.findByRole('button', { name: 'Delete' });
  await waitFor(() => expect(button).toBeEnabled());
  return button;
}

async function openDialog() {
  const button = await screen.findByRole('button', { name: 'Restore data' });
  await waitFor(() => expect(button).toBeEnabled());
  fireEvent.click(button);
  const dialog = await screen.findByRole('dialog', { name: 'Restore data' });
  // With one configured source, it is chosen already.
  await waitFor(() =>
    expect(within(dialog).getByLabelText('Source')).toHaveValue('nightly'),
  );
  return dialog;
}

describe('EntityRestoreContent', () => {
  it('shows each restore with phase, progress, requester, PVC and why it failed', async () => {
    const running = restoreFixture({
      name: 'restore-data-running',
      phase: 'Restoring',
      status: {
        name: 'restore-data-running',
        namespace: 'team-a',
        phase: 'Restoring',
        pvc: 'data',
        source: 's3://backups/team-a/shop/',
        attempts: 1,
        failedAttempts: 0,
        pods: [],
        progress: {
          objectsDone: 30,
          objectsTotal: 120,
          objectsSkipped: 0,
          bytesDone: 2 ** 30,
          bytesTotal: 4 * 2 ** 30,
          bytesPerSecond: 50 * 2 ** 20,
          etaSeconds: 61,
        },
      },
    });
    const failed = restoreFixture({
      name: 'restore-logs-failed',
      pvc: 'logs',
      phase: 'Failed',
      requester: 'user:default/bob',
      durationMs: 65000,
      error: { code: 'NO_SUCH_KEY', message: 'the object does not exist' },
    });
    const done = restoreFixture({ name: 'restore-data-done', bytes: 2048 });
    backend([running, failed, done]);
    const stream = new TestEventStream();
    server.use(
      http.get(`${BASE_URL}/restores/:id/events`, ({ request }) =>
        stream.response(request),
      ),
    );

    await renderWithApis(<EntityRestoreContent />);

    const bar = await screen.findByRole('progressbar', {
      name: 'Restore progress restore-data-running',
    });
    expect(bar).toHaveAttribute('aria-valuenow', '25');
    const runningRow = within(rowOf('restore-data-running'));
    expect(runningRow.getByText('Restoring')).toBeInTheDocument();
    expect(
      runningRow.getByText(
        '1.00 GiB of 4.00 GiB, 30 of 120 objects, 50.0 MiB/s, 1m 01s left',
      ),
    ).toBeInTheDocument();
    expect(runningRow.getByText('alice')).toBeInTheDocument();

    const failedRow = within(rowOf('restore-logs-failed'));
    expect(failedRow.getByText('Failed')).toBeInTheDocument();
    expect(failedRow.getByText(/NO_SUCH_KEY/)).toBeInTheDocument();
    expect(
      failedRow.getByText('the object does not exist'),
    ).toBeInTheDocument();
    expect(failedRow.getByText('1m 05s')).toBeInTheDocument();
    expect(failedRow.getByText('logs')).toBeInTheDocument();
    expect(failedRow.getByText('bob')).toBeInTheDocument();

    expect(
      within(rowOf('restore-data-done')).getByText('Succeeded'),
    ).toBeInTheDocument();
    expect(
      screen.getByRole('progressbar', {
        name: 'Restore progress restore-data-done',
      }),
    ).toHaveAttribute('aria-valuenow', '100');
    // One row per restore, plus the header.
    expect(
      within(screen.getByRole('table', { name: 'Restores' })).getAllByRole(
        'row',
      ),
    ).toHaveLength(4);
  });

  it('shows an empty state when the entity has no restores', async () => {
    backend([]);
    await renderWithApis(<EntityRestoreContent />);
    expect(await screen.findByText('No restores yet')).toBeInTheDocument();
  });

  it('shows the backend error when the list fails (500)', async () => {
    server.use(
      http.get(`${BASE_URL}/restores`, () =>
        errorResponse(500, 'Error', 'database is locked'),
      ),
    );
    await renderWithApis(<EntityRestoreContent />);
    expect(await screen.findByRole('alert')).toHaveTextContent(
      'database is locked',
    );
  });

  it('explains what is missing when the entity names no namespace', async () => {
    backend([]);
    await renderWithApis(<EntityRestoreContent />, {
      entity: { ...entity, metadata: { name: 'shop', annotations: {} } },
    });
    expect(
      await screen.findAllByText(/backstage.io\/kubernetes-namespace/),
    ).not.toHaveLength(0);
    expect(screen.queryByRole('button', { name: 'Restore data' })).toBeNull();
  });

  it('updates a running restore live from the event stream', async () => {
    const running = restoreFixture({
      name: 'restore-live',
      phase: 'Restoring',
    });
    backend([running]);
    const stream = new TestEventStream();
    server.use(
      http.get(`${BASE_URL}/restores/${running.id}/events`, ({ request }) =>
        stream.response(request),
      ),
      http.get(`${BASE_URL}/restores/${running.id}`, () =>
        HttpResponse.json({ ...running, phase: 'Succeeded', durationMs: 4000 }),
      ),
    );
    await renderWithApis(<EntityRestoreContent />);
    await screen.findByRole('progressbar', {
      name: 'Restore progress restore-live',
    });
    await waitFor(() => expect(stream.open).toBe(true));
    expect(screen.getByText('Live')).toBeInTheDocument();

    const progress = (bytesDone: number) => ({
      ...running,
      status: {
        name: running.name,
        namespace: 'team-a',
        phase: 'Restoring' as const,
        pvc: 'data',
        source: 's3://x/',
        attempts: 1,
        failedAttempts: 0,
        pods: [],
        progress: {
          objectsDone: 1,
          objectsTotal: 2,
          objectsSkipped: 0,
          bytesDone,
          bytesTotal: 1000,
          bytesPerSecond: 10,
        },
      },
    });
    stream.send('status', progress(500));
    await waitFor(() =>
      expect(
        screen.getByRole('progressbar', {
          name: 'Restore progress restore-live',
        }),
      ).toHaveAttribute('aria-valuenow', '50'),
    );
    stream.send('status', {
      ...progress(1000),
      phase: 'Succeeded',
      durationMs: 4000,
    });
    stream.end();
    expect(await screen.findByText('Succeeded')).toBeInTheDocument();
    expect(screen.getByText('4s')).toBeInTheDocument();
    await waitFor(() => expect(screen.queryByText('Live')).toBeNull());
  });

  it('falls back to polling when the event stream fails', async () => {
    const running = restoreFixture({
      name: 'restore-polled',
      phase: 'Restoring',
    });
    let phase: Restore['phase'] = 'Restoring';
    let lists = 0;
    server.use(
      http.get(`${BASE_URL}/restores`, () => {
        lists += 1;
        return HttpResponse.json({ items: [{ ...running, phase }] });
      }),
      http.get(`${BASE_URL}/restores/:id/events`, () =>
        errorResponse(502, 'ClusterError', 'proxy refused the stream'),
      ),
    );
    // the poll timers the component starts (setInterval with its interval) and which it clears
    const polls = new Set<unknown>();
    const realSetInterval = globalThis.setInterval;
    const realClearInterval = globalThis.clearInterval;
    const setIntervalSpy = jest
      .spyOn(globalThis, 'setInterval')
      .mockImplementation(((fn: () => void, ms?: number) => {
        const id = realSetInterval(fn, ms);
        if (ms === 50) polls.add(id);
        return id;
      }) as typeof setInterval);
    const clearIntervalSpy = jest
      .spyOn(globalThis, 'clearInterval')
      .mockImplementation(id => {
        polls.delete(id);
        realClearInterval(id);
      });
    await renderWithApis(<EntityRestoreContent pollIntervalMs={50} />);
    expect(
      await screen.findByText(/Live updates unavailable; refreshing every/),
    ).toBeInTheDocument();
    expect(polls.size).toBe(1);
    const before = lists;
    await waitFor(() => expect(lists).toBeGreaterThan(before + 1));
    phase = 'Failed';
    expect(await screen.findByText('Failed')).toBeInTheDocument();
    // Nothing active any more: polling stops.
    await waitFor(() =>
      expect(screen.queryByText(/Live updates unavailable/)).toBeNull(),
    );
    // ...its poll timer is cleared, none is left to fire
    expect(polls.size).toBe(0);
    setIntervalSpy.mockRestore();
    clearIntervalSpy.mockRestore();
  });

  it("validates the PVC name as it is typed, with common's rules", async () => {
    backend([]);
    await renderWithApis(<EntityRestoreContent />);
    const dialog = await openDialog();
    const pvc = within(dialog).getByLabelText('PVC name');
    fireEvent.change(pvc, { target: { value: 'Data_1' } });
    expect(pvc).toHaveAttribute('aria-invalid', 'true');
    expect(
      within(dialog).getByText(
        /must consist of lower case letters, digits, "-" and "."/,
      ),
    ).toBeInTheDocument();
    fireEvent.change(pvc, { target: { value: 'data-1' } });
    expect(pvc).toHaveAttribute('aria-invalid', 'false');

    const size = within(dialog).getByLabelText('Size');
    fireEvent.change(size, { target: { value: '10GB' } });
    expect(size).toHaveAttribute('aria-invalid', 'true');
    expect(
      within(dialog).getByText(/invalid quantity "10GB"/),
    ).toBeInTheDocument();
  });

  it('shows the plan: objects, size, PVC size, archived objects, thaw cost and approval', async () => {
    backend([]);
    let planned: RestoreBody | undefined;
    server.use(
      http.post(`${BASE_URL}/plan`, async ({ request }) => {
        planned = (await request.json()) as RestoreBody;
        return HttpResponse.json(
          planFixture({
            size: sizeFixture({
              archived: { GLACIER: { objects: 300, bytes: 2 * 2 ** 30 } },
              archivedObjects: 300,
              archivedBytes: 2 * 2 ** 30,
              thawCost: [
                {
                  tier: 'Expedited',
                  available: false,
                  usd: 0,
                  typicalHours: '-',
                },
                {
                  tier: 'Standard',
                  available: true,
                  usd: 0.05,
                  typicalHours: '12',
                },
                {
                  tier: 'Bulk',
                  available: true,
                  usd: 0.01,
                  typicalHours: '48',
                },
              ],
            }),
            approval: {
              required: true,
              reasons: [
                {
                  rule: 'large',
                  reason: 'more than 1Gi',
                  approvers: ['group:default/sre'],
                },
              ],
            },
          }),
        );
      }),
    );
    await renderWithApis(<EntityRestoreContent />);
    const dialog = await openDialog();
    fireEvent.change(within(dialog).getByLabelText('Prefix'), {
      target: { value: 'db/2026-11-20/' },
    });
    fireEvent.change(within(dialog).getByLabelText('PVC name'), {
      target: { value: 'data' },
    });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Plan' }));

    const plan = await within(dialog).findByRole('region', { name: 'Plan' });
    expect(planned).toEqual({
      entityRef: ENTITY_REF,
      source: { name: 'nightly', path: 'db/2026-11-20/' },
      target: { pvc: 'data', mode: 'new', size: 'auto' },
    });
    expect(within(plan).getByText('1200')).toBeInTheDocument();
    expect(within(plan).getByText('5.00 GiB')).toBeInTheDocument();
    expect(within(plan).getAllByText('6Gi')).toHaveLength(2);
    expect(within(plan).getByText('300')).toBeInTheDocument();
    const costs = within(plan).getByRole('table', {
      name: 'Thaw cost per tier',
    });
    expect(within(costs).getByText('$0.05')).toBeInTheDocument();
    expect(within(costs).getByText('not available')).toBeInTheDocument();
    expect(within(plan).getByText('needed')).toBeInTheDocument();
    expect(
      within(plan).getByText(
        /more than 1Gi \(rule large; approvers group:default\/sre\)/,
      ),
    ).toBeInTheDocument();

    // Changing the form marks the plan as stale.
    fireEvent.change(within(dialog).getByLabelText('PVC name'), {
      target: { value: 'data2' },
    });
    expect(
      within(plan).getByText(/The form changed since this plan/),
    ).toBeInTheDocument();
  });

  it('shows a validation error from the backend (400) in an alert', async () => {
    backend([]);
    server.use(
      http.post(`${BASE_URL}/plan`, () =>
        errorResponse(
          400,
          'InputError',
          'invalid body: source.path: must be at most 1024 bytes',
        ),
      ),
    );
    await renderWithApis(<EntityRestoreContent />);
    const dialog = await openDialog();
    fireEvent.change(within(dialog).getByLabelText('PVC name'), {
      target: { value: 'data' },
    });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Plan' }));
    expect(await within(dialog).findByRole('alert')).toHaveTextContent(
      'invalid body: source.path: must be at most 1024 bytes',
    );
  });

  it("adds the row at once when a restore is started, then shows the backend's", async () => {
    backend([]);
    let answer: (() => void) | undefined;
    const created = restoreFixture({
      name: 'restore-data-1a2b3c4d',
      phase: 'Pending',
    });
    server.use(
      http.post(`${BASE_URL}/restores`, async () => {
        await new Promise<void>(resolve => {
          answer = resolve;
        });
        return HttpResponse.json(created, { status: 201 });
      }),
      http.get(
        `${BASE_URL}/restores/:id/events`,
        () => new HttpResponse(null, { status: 204 }),
      ),
      http.get(`${BASE_URL}/restores/:id`, () => HttpResponse.json(created)),
    );
    await renderWithApis(<EntityRestoreContent />);
    const dialog = await openDialog();
    fireEvent.change(within(dialog).getByLabelText('PVC name'), {
      target: { value: 'data' },
    });
    await planAndStart(dialog);

    // Before the backend answers: the optimistic row, named by the plan, requested by "you".
    const optimistic = await screen.findByRole('progressbar', {
      name: 'Restore progress restore-data-1a2b3c4d',
    });
    const row = optimistic.closest('tr')!;
    expect(within(row).getByText('Pending')).toBeInTheDocument();
    expect(within(row).getByText('you')).toBeInTheDocument();
    expect(within(row).getByRole('button', { name: 'Delete' })).toBeDisabled();
    expect(answer).toBeDefined();
    answer!();
    // Then the backend's row takes its place: one row, its requester, deletable.
    await waitFor(() =>
      expect(
        within(rowOf('restore-data-1a2b3c4d')).getByText('alice'),
      ).toBeInTheDocument(),
    );
    expect(screen.getAllByRole('progressbar')).toHaveLength(1);
    expect(screen.queryByText('you')).toBeNull();
  });

  it('starts only from a plan of the current form: Start waits for Plan, and a changed field asks for a new plan', async () => {
    backend([]);
    await renderWithApis(<EntityRestoreContent />);
    const dialog = await openDialog();
    const start = within(dialog).getByRole('button', { name: 'Start restore' });
    fireEvent.change(within(dialog).getByLabelText('PVC name'), {
      target: { value: 'data' },
    });
    expect(start).toBeDisabled();
    expect(start).toHaveAccessibleDescription(
      'Plan first: a restore starts from the plan you have seen.',
    );

    fireEvent.click(within(dialog).getByRole('button', { name: 'Plan' }));
    await within(dialog).findByRole('region', { name: 'Plan' });
    await waitFor(() => expect(start).toBeEnabled());

    fireEvent.change(within(dialog).getByLabelText('PVC name'), {
      target: { value: 'other' },
    });
    expect(start).toBeDisabled();
    expect(start).toHaveAccessibleDescription(
      'The form changed since the plan: plan again to start.',
    );
  });

  it("shows the backend's 403 message and drops the optimistic row when the restore is refused", async () => {
    backend([]);
    server.use(
      http.post(`${BASE_URL}/restores`, () =>
        errorResponse(
          403,
          'NotAllowedError',
          'user:default/mallory may not create restores of component:default/shop',
        ),
      ),
    );
    await renderWithApis(<EntityRestoreContent />);
    const dialog = await openDialog();
    fireEvent.change(within(dialog).getByLabelText('PVC name'), {
      target: { value: 'data' },
    });
    await planAndStart(dialog);
    expect(await screen.findByRole('alert')).toHaveTextContent(
      'Could not start the restore into PVC data: user:default/mallory may not create restores of component:default/shop',
    );
    expect(
      screen.queryByRole('progressbar', { name: /Restore progress/ }),
    ).toBeNull();
    expect(screen.getByText('No restores yet')).toBeInTheDocument();
  });

  it('disables "Restore data" with an explanation for users without restore.create', async () => {
    backend([restoreFixture({ name: 'restore-x' })]);
    await renderWithApis(<EntityRestoreContent />, {
      deny: ['restore.create', 'restore.delete'],
    });
    await screen.findByRole('progressbar', {
      name: 'Restore progress restore-x',
    });
    const button = await screen.findByRole('button', { name: 'Restore data' });
    await waitFor(() => expect(button).toBeDisabled());
    expect(button).toHaveAccessibleDescription(
      'You may not restore data into component:default/shop (permission restore.create); its owners can.',
    );
    await waitFor(() =>
      expect(screen.getByRole('button', { name: 'Delete' })).toBeDisabled(),
    );
  });

  it('deletes a restore after confirmation', async () => {
    const restore = restoreFixture({ name: 'restore-old' });
    backend([restore]);
    const deleted: string[] = [];
    server.use(
      http.delete(`${BASE_URL}/restores/:id`, ({ params, request }) => {
        deleted.push(`${params.id}${new URL(request.url).search}`);
        return HttpResponse.json({
          ...restore,
          deletedAt: new Date().toISOString(),
        });
      }),
    );
    await renderWithApis(<EntityRestoreContent />);
    await screen.findByRole('progressbar', {
      name: 'Restore progress restore-old',
    });
    fireEvent.click(await deleteButton());
    const confirm = await screen.findByRole('dialog', {
      name: 'Delete restore restore-old?',
    });
    expect(deleted).toEqual([]);
    fireEvent.click(within(confirm).getByRole('checkbox'));
    fireEvent.click(within(confirm).getByRole('button', { name: 'Delete' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    await waitFor(() =>
      expect(
        screen.queryByRole('progressbar', {
          name: 'Restore progress restore-old',
        }),
      ).toBeNull(),
    );
    expect(deleted).toEqual([`${restore.id}?deletePvc=true`]);
  });

  it('keeps the confirmation open with the backend message when a delete fails (409)', async () => {
    const restore = restoreFixture({ name: 'restore-busy' });
    backend([restore]);
    server.use(
      http.delete(`${BASE_URL}/restores/:id`, () =>
        errorResponse(409, 'ConflictError', 'the PVC is in use by pod web-0'),
      ),
    );
    await renderWithApis(<EntityRestoreContent />);
    await screen.findByRole('progressbar', {
      name: 'Restore progress restore-busy',
    });
    fireEvent.click(await deleteButton());
    const confirm = await screen.findByRole('dialog', {
      name: 'Delete restore restore-busy?',
    });
    fireEvent.click(within(confirm).getByRole('button', { name: 'Cancel' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    fireEvent.click(await deleteButton());
    const again = await screen.findByRole('dialog', {
      name: 'Delete restore restore-busy?',
    });
    fireEvent.click(within(again).getByRole('button', { name: 'Delete' }));
    expect(await within(again).findByRole('alert')).toHaveTextContent(
      'the PVC is in use by pod web-0',
    );
    fireEvent.click(within(again).getByRole('button', { name: 'Cancel' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(
      screen.getByRole('progressbar', {
        name: 'Restore progress restore-busy',
      }),
    ).toBeInTheDocument();
  });
});
