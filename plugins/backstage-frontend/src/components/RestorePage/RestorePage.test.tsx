import { registerMswTestHooks } from '@backstage/test-utils';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import {
  BASE_URL,
  HttpResponse,
  TestEventStream,
  errorResponse,
  http,
  restoreFixture,
  server,
} from '../../__testUtils__/backend';
import { renderWithApis } from '../../__testUtils__/render';
import type { Restore } from '../../api';
import { RestorePage } from './RestorePage';

registerMswTestHooks(server);
jest.setTimeout(20000);

const waiting = (name: string, overrides: Partial<Restore> = {}) =>
  restoreFixture({
    name,
    phase: 'PendingApproval',
    plannedBytes: 200 * 2 ** 30,
    requester: 'user:default/alice',
    jobCreatedAt: undefined,
    approval: {
      required: true,
      reasons: [
        {
          rule: 'large',
          reason: '200.00 GiB is above 100Gi',
          approvers: ['group:default/sre'],
        },
      ],
    },
    ...overrides,
  });

// Restores waiting for approval are followed live; their streams stay open and quiet here.
beforeEach(() => {
  server.use(
    http.get(`${BASE_URL}/restores/:id/events`, ({ request }) =>
      new TestEventStream().response(request),
    ),
  );
});

function approvalsTable() {
  return screen.findByRole('table', { name: 'Restores waiting for approval' });
}

describe('RestorePage', () => {
  it('lists restores waiting for approval with who asked and why, and all restores', async () => {
    const pending = waiting('restore-big');
    const done = restoreFixture({
      name: 'restore-done',
      entityRef: 'component:default/cart',
    });
    server.use(
      http.get(`${BASE_URL}/restores`, () =>
        HttpResponse.json({ items: [pending, done] }),
      ),
    );
    await renderWithApis(<RestorePage />);
    const approvals = within(await approvalsTable());
    expect(approvals.getAllByRole('row')).toHaveLength(2);
    expect(approvals.getByText('restore-big')).toBeInTheDocument();
    expect(approvals.getByText('200 GiB')).toBeInTheDocument();
    expect(approvals.getByText('alice')).toBeInTheDocument();
    expect(
      approvals.getByText(
        /200.00 GiB is above 100Gi \(approvers: group:default\/sre\)/,
      ),
    ).toBeInTheDocument();
    const all = within(screen.getByRole('table', { name: 'Restores' }));
    expect(all.getAllByRole('row')).toHaveLength(3);
    expect(all.getByText('component:default/cart')).toBeInTheDocument();
    expect(all.getByText('Pending approval')).toBeInTheDocument();
  });

  it('approves with a comment, and the restore leaves the approvals list', async () => {
    const pending = waiting('restore-big');
    const decisions: unknown[] = [];
    server.use(
      http.get(`${BASE_URL}/restores`, () =>
        HttpResponse.json({ items: [pending] }),
      ),
      http.post(
        `${BASE_URL}/restores/:id/approve`,
        async ({ params, request }) => {
          decisions.push({ id: params.id, body: await request.json() });
          return HttpResponse.json({ ...pending, phase: 'Succeeded' });
        },
      ),
    );
    await renderWithApis(<RestorePage />);
    const approvals = within(await approvalsTable());
    fireEvent.click(approvals.getByRole('button', { name: 'Approve' }));
    const dialog = await screen.findByRole('dialog', {
      name: 'Approve restore restore-big?',
    });
    fireEvent.change(within(dialog).getByLabelText('Comment (optional)'), {
      target: { value: 'checked with the team' },
    });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Approve' }));
    expect(
      await screen.findByText('Nothing waits for approval'),
    ).toBeInTheDocument();
    expect(decisions).toEqual([
      { id: pending.id, body: { comment: 'checked with the team' } },
    ]);
    expect(
      screen.getByText('Approved restore-big; it is starting.'),
    ).toBeInTheDocument();
  });

  it('rejects without a comment', async () => {
    const pending = waiting('restore-thaw');
    const decisions: unknown[] = [];
    server.use(
      http.get(`${BASE_URL}/restores`, () =>
        HttpResponse.json({ items: [pending] }),
      ),
      http.post(`${BASE_URL}/restores/:id/reject`, async ({ request }) => {
        decisions.push(await request.json());
        return HttpResponse.json({ ...pending, phase: 'Rejected' });
      }),
    );
    await renderWithApis(<RestorePage />);
    fireEvent.click(
      within(await approvalsTable()).getByRole('button', { name: 'Reject' }),
    );
    const dialog = await screen.findByRole('dialog', {
      name: 'Reject restore restore-thaw?',
    });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Reject' }));
    expect(
      await screen.findByText('Nothing waits for approval'),
    ).toBeInTheDocument();
    expect(decisions).toEqual([{}]);
    expect(
      screen.getByText('Rejected', { selector: 'span *, span' }),
    ).toBeInTheDocument();
  });

  it("shows the backend's refusal (403) when the user may not approve", async () => {
    const pending = waiting('restore-own');
    server.use(
      http.get(`${BASE_URL}/restores`, () =>
        HttpResponse.json({ items: [pending] }),
      ),
      http.post(`${BASE_URL}/restores/:id/approve`, () =>
        errorResponse(
          403,
          'NotAllowedError',
          'user:default/alice requested restore-own and cannot approve it',
        ),
      ),
    );
    await renderWithApis(<RestorePage />);
    fireEvent.click(
      within(await approvalsTable()).getByRole('button', { name: 'Approve' }),
    );
    const dialog = await screen.findByRole('dialog', {
      name: 'Approve restore restore-own?',
    });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Approve' }));
    expect(await within(dialog).findByRole('alert')).toHaveTextContent(
      'user:default/alice requested restore-own and cannot approve it',
    );
    fireEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(
      within(await approvalsTable()).getByText('restore-own'),
    ).toBeInTheDocument();
  });

  it('shows empty states when there are no restores', async () => {
    server.use(
      http.get(`${BASE_URL}/restores`, () => HttpResponse.json({ items: [] })),
    );
    await renderWithApis(<RestorePage />);
    expect(
      await screen.findByText('Nothing waits for approval'),
    ).toBeInTheDocument();
    expect(screen.getByText('No restores yet')).toBeInTheDocument();
  });
});
