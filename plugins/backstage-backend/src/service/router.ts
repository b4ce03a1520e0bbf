/** The HTTP API: parse with zod, call the service, serialise. Errors are @backstage/errors; the error handler does the rest. */
import { HttpAuthService } from '@backstage/backend-plugin-api';
import { InputError } from '@backstage/errors';
import express from 'express';
import Router from 'express-promise-router';
import {
  dns1123LabelProblem,
  dns1123SubdomainProblem,
} from '@kube-restore/common';
import { BackupDecision } from '@kube-restore/core';
import { z } from 'zod';
import { toBackstageError } from '../errors';
import { RestoreConfig } from '../config';
import { Caller, RouteKind, checkServiceAccess } from './access';
import { ApprovalService } from './approvals';
import { RestoreReads } from './reads';
import { RestorePlanner } from './planner';
import { RestoreService } from './RestoreService';
import {
  decisionBodySchema,
  deleteQuerySchema,
  describeZodError,
  listQuerySchema,
  logsQuerySchema,
  namespaceRestoreBodySchema,
  restoreBodySchema,
} from './schemas';

function parse<T extends z.ZodTypeAny>(
  schema: T,
  value: unknown,
  root: string,
): z.output<T> {
  const result = schema.safeParse(value ?? {});
  if (!result.success)
    throw new InputError(`invalid ${root}: ${describeZodError(result.error)}`);
  return result.data;
}

function nameProblem(
  field: string,
  value: string,
  problem: string | undefined,
): string | undefined {
  return problem && `${field}: "${value}" ${problem}`;
}

export async function createRouter(options: {
  httpAuth: HttpAuthService;
  restores: RestoreService;
  planner: RestorePlanner;
  reads: RestoreReads;
  approvals: ApprovalService;
  exists: (namespace: string, pvc: string) => Promise<BackupDecision>;
  serviceAccess: RestoreConfig['serviceAccess'];
}): Promise<express.Router> {
  const { httpAuth, restores, planner, reads, approvals, exists } = options;
  const { serviceAccess } = options;
  const router = Router();
  router.use(express.json({ limit: '256kb' }));

  /** The caller, once a service token may call a route of this kind (access.ts); then the services decide. */
  const caller = async (
    req: express.Request,
    kind: RouteKind,
  ): Promise<Caller> => {
    const credentials = await httpAuth.credentials(req, {
      allow: ['user', 'service'],
    });
    checkServiceAccess(serviceAccess, credentials, kind);
    return { credentials, request: req };
  };

  router.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.get('/sources', async (req, res) => {
    res.json({ items: await restores.listSources(await caller(req, 'read')) });
  });

  router.post('/plan', async (req, res) => {
    const body = parse(restoreBodySchema, req.body, 'body');
    res.json(await planner.plan(body, await caller(req, 'read')));
  });

  router.post('/restores', async (req, res) => {
    const body = parse(restoreBodySchema, req.body, 'body');
    const { view, created } = await restores.create(
      body,
      await caller(req, 'write'),
    );
    let status = created ? 201 : 200;
    if (view.phase === 'PendingApproval') status = 202;
    res.status(status).json(view);
  });

  router.post('/restores/namespace', async (req, res) => {
    const body = parse(namespaceRestoreBodySchema, req.body, 'body');
    res.json({
      items: await restores.createForNamespace(
        body,
        await caller(req, 'write'),
      ),
    });
  });

  router.get('/restores', async (req, res) => {
    const query = parse(listQuerySchema, req.query, 'query');
    res.json({ items: await reads.list(query, await caller(req, 'read')) });
  });

  router.get('/restores/:id', async (req, res) => {
    res.json(await reads.get(req.params.id, await caller(req, 'read')));
  });

  router.get('/restores/:id/events', async (req, res) => {
    const who = await caller(req, 'read');
    const controller = new AbortController();
    req.on('close', () => controller.abort());
    const updates = reads.events(req.params.id, who, controller.signal);
    // The first update is read before the stream opens, so 403/404 are ordinary error responses.
    const first = await updates.next();
    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    const send = (event: string, data: unknown) => {
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      (res as unknown as { flush?: () => void }).flush?.();
    };
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15000);
    try {
      if (!first.done) send('status', first.value);
      for await (const view of { [Symbol.asyncIterator]: () => updates })
        send('status', view);
      if (!controller.signal.aborted) send('end', {});
    } catch (error) {
      const e = toBackstageError(error);
      send('error', { error: { name: e.name, message: e.message } });
    } finally {
      clearInterval(heartbeat);
      res.end();
    }
  });

  router.get('/restores/:id/logs', async (req, res) => {
    const query = parse(logsQuerySchema, req.query, 'query');
    res.json(
      await reads.logs(
        req.params.id,
        query.tailLines,
        await caller(req, 'read'),
      ),
    );
  });

  router.delete('/restores/:id', async (req, res) => {
    const query = parse(deleteQuerySchema, req.query, 'query');
    res.json(
      await restores.delete(
        req.params.id,
        query.deletePvc === 'true',
        await caller(req, 'write'),
      ),
    );
  });

  router.post('/restores/:id/approve', async (req, res) => {
    const body = parse(decisionBodySchema, req.body, 'body');
    res.json(
      await approvals.approve(
        req.params.id,
        body.comment,
        await caller(req, 'write'),
      ),
    );
  });

  router.post('/restores/:id/reject', async (req, res) => {
    const body = parse(decisionBodySchema, req.body, 'body');
    res.json(
      await approvals.reject(
        req.params.id,
        body.comment,
        await caller(req, 'write'),
      ),
    );
  });

  router.get('/exists/:namespace/:pvc', async (req, res) => {
    // For cluster policy engines and other backends: a service token (backend.auth.externalAccess).
    await httpAuth.credentials(req, { allow: ['service'] });
    const { namespace, pvc } = req.params;
    const problem =
      nameProblem('namespace', namespace, dns1123LabelProblem(namespace)) ??
      nameProblem('pvc', pvc, dns1123SubdomainProblem(pvc));
    if (problem) throw new InputError(problem);
    const decision = await exists(namespace, pvc);
    // `unknown` is an answer, not a failure of this API: 503 lets a policy engine fail closed.
    res.status(decision.decision === 'unknown' ? 503 : 200).json(decision);
  });

  return router;
}
