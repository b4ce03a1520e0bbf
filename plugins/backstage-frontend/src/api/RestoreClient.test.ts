import { ResponseError } from '@backstage/errors';
import { registerMswTestHooks } from '@backstage/test-utils';
import {
  BASE_URL,
  TestEventStream,
  createClient,
  errorResponse,
  http,
  HttpResponse,
  planFixture,
  restoreFixture,
  server,
} from '../__testUtils__/backend';
import type { Restore } from './types';
import { RestoreStreamError } from './RestoreClient';

registerMswTestHooks(server);

describe('RestoreClient', () => {
  it('lists restores of an entity with the query the backend expects', async () => {
    const restore = restoreFixture();
    let url: URL | undefined;
    server.use(
      http.get(`${BASE_URL}/restores`, ({ request }) => {
        url = new URL(request.url);
        return HttpResponse.json({ items: [restore] });
      }),
    );
    await expect(
      createClient().listRestores({
        entityRef: 'component:default/shop',
        limit: 5,
      }),
    ).resolves.toEqual([restore]);
    expect(url?.searchParams.get('entityRef')).toBe('component:default/shop');
    expect(url?.searchParams.get('limit')).toBe('5');
  });

  it('tells created, existing and pending-approval restores apart by status', async () => {
    const restore = restoreFixture({ phase: 'PendingApproval' });
    let status = 202;
    let body: unknown;
    server.use(
      http.post(`${BASE_URL}/restores`, async ({ request }) => {
        body = await request.json();
        return HttpResponse.json(restore, { status });
      }),
    );
    const request = {
      entityRef: 'component:default/shop',
      source: { name: 'nightly' },
      target: { pvc: 'data' },
    };
    await expect(createClient().createRestore(request)).resolves.toEqual({
      restore,
      outcome: 'pendingApproval',
    });
    expect(body).toEqual(request);
    status = 201;
    await expect(createClient().createRestore(request)).resolves.toMatchObject({
      outcome: 'created',
    });
    status = 200;
    await expect(createClient().createRestore(request)).resolves.toMatchObject({
      outcome: 'existing',
    });
  });

  it('throws a ResponseError carrying the backend message on 403', async () => {
    server.use(
      http.post(`${BASE_URL}/plan`, () =>
        errorResponse(
          403,
          'NotAllowedError',
          'you may not create restores of component:default/shop',
        ),
      ),
    );
    const error = await createClient()
      .planRestore({
        entityRef: 'x',
        source: { name: 'n' },
        target: { pvc: 'p' },
      })
      .catch(e => e);
    expect(error).toBeInstanceOf(ResponseError);
    expect(error.statusCode).toBe(403);
    expect(error.body.error.message).toBe(
      'you may not create restores of component:default/shop',
    );
  });

  it('returns the plan', async () => {
    const plan = planFixture();
    server.use(http.post(`${BASE_URL}/plan`, () => HttpResponse.json(plan)));
    await expect(
      createClient().planRestore({
        entityRef: 'x',
        source: { name: 'n' },
        target: { pvc: 'p' },
      }),
    ).resolves.toEqual(plan);
  });

  it('deletes with deletePvc only when asked, and approves with a comment', async () => {
    const restore = restoreFixture();
    const seen: string[] = [];
    server.use(
      http.delete(`${BASE_URL}/restores/:id`, ({ request }) => {
        seen.push(`DELETE ${new URL(request.url).search}`);
        return HttpResponse.json(restore);
      }),
      http.post(
        `${BASE_URL}/restores/:id/approve`,
        async ({ request, params }) => {
          seen.push(
            `approve ${params.id} ${JSON.stringify(await request.json())}`,
          );
          return HttpResponse.json(restore);
        },
      ),
    );
    const client = createClient();
    await client.deleteRestore('a');
    await client.deleteRestore('a', { deletePvc: true });
    await client.approveRestore('a b', 'ok');
    expect(seen).toEqual([
      'DELETE ',
      'DELETE ?deletePvc=true',
      'approve a b {"comment":"ok"}',
    ]);
  });

  describe('watchRestore', () => {
    it('follows the event stream with the user token until event: end', async () => {
      const stream = new TestEventStream();
      server.use(
        http.get(`${BASE_URL}/restores/:id/events`, ({ request }) =>
          stream.response(request),
        ),
      );
      const updates: Restore[] = [];
      const done = createClient().watchRestore('id-1', {
        onUpdate: r => updates.push(r),
      });
      await waitUntil(() => stream.open);
      const running = restoreFixture({ phase: 'Restoring' });
      stream.send('status', running);
      stream.write(': keep-alive\n\n');
      stream.send('status', { ...running, phase: 'Succeeded' });
      stream.end();
      await expect(done).resolves.toBeUndefined();
      expect(updates.map(u => u.phase)).toEqual(['Restoring', 'Succeeded']);
      expect(stream.requests[0].headers.get('authorization')).toBe(
        'Bearer user-token',
      );
      expect(stream.requests[0].headers.get('accept')).toBe(
        'text/event-stream',
      );
    });

    it('rejects when the backend sends event: error', async () => {
      const stream = new TestEventStream();
      server.use(
        http.get(`${BASE_URL}/restores/:id/events`, ({ request }) =>
          stream.response(request),
        ),
      );
      const done = createClient().watchRestore('id-1', { onUpdate: () => {} });
      await waitUntil(() => stream.open);
      stream.send('error', {
        error: { name: 'ClusterError', message: 'watch failed: 500' },
      });
      stream.close();
      await expect(done).rejects.toThrow(
        new RestoreStreamError('watch failed: 500'),
      );
    });

    it('rejects when the stream breaks off before event: end', async () => {
      const stream = new TestEventStream();
      server.use(
        http.get(`${BASE_URL}/restores/:id/events`, ({ request }) =>
          stream.response(request),
        ),
      );
      const done = createClient().watchRestore('id-1', { onUpdate: () => {} });
      await waitUntil(() => stream.open);
      stream.send('status', restoreFixture({ phase: 'Restoring' }));
      stream.close();
      await expect(done).rejects.toThrow(/ended before the restore finished/);
    });

    it('rejects with the backend error when the stream is refused (404)', async () => {
      server.use(
        http.get(`${BASE_URL}/restores/:id/events`, () =>
          errorResponse(404, 'NotFoundError', 'restore id-9 not found'),
        ),
      );
      const error = await createClient()
        .watchRestore('id-9', { onUpdate: () => {} })
        .catch(e => e);
      expect(error).toBeInstanceOf(ResponseError);
      expect(error.statusCode).toBe(404);
    });

    it('resolves when aborted', async () => {
      const stream = new TestEventStream();
      server.use(
        http.get(`${BASE_URL}/restores/:id/events`, ({ request }) =>
          stream.response(request),
        ),
      );
      const controller = new AbortController();
      const done = createClient().watchRestore('id-1', {
        onUpdate: () => {},
        signal: controller.signal,
      });
      await waitUntil(() => stream.open);
      controller.abort();
      await expect(done).resolves.toBeUndefined();
    });
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 2000) {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error('timed out waiting');
    await new Promise(resolve => setTimeout(resolve, 5));
  }
}
