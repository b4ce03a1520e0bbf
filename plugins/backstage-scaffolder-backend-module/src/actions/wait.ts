/**
 * `kube-restore:wait`: follows a restore that `kube-restore:create` started until it ends, by reading it
 * from the restore backend (`GET /restores/:id`, for the template's user, so read permission applies).
 * Succeeded ends the step; Failed and Rejected fail it with the error code, and so does the timeout.
 */
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import type { RestoreView } from '@kube-restore/backstage-plugin-restore-common';
import { setTimeout as sleep } from 'node:timers/promises';
import { RestoreBackendClient } from '../client';
import { errorOf, summaryOf } from './summary';

export const WAIT_ACTION_ID = 'kube-restore:wait';
const DEFAULT_TIMEOUT_SECONDS = 1800;
const DEFAULT_POLL_SECONDS = 5;
const ENDED = ['Succeeded', 'Failed', 'Rejected'];

export function waitRestoreAction(options: { client: RestoreBackendClient }) {
  const { client } = options;
  return createTemplateAction({
    id: WAIT_ACTION_ID,
    description:
      'Waits until a restore started by kube-restore:create has Succeeded; fails the step with the error code when it Failed, was Rejected, or did not end within the timeout.',
    examples: [
      {
        description:
          'Wait up to 20 minutes for the restore of the previous step',
        example: [
          'steps:',
          '  - id: wait',
          '    action: kube-restore:wait',
          '    input:',
          '      id: ${{ steps.restore.output.id }}',
          '      timeoutSeconds: 1200',
        ].join('\n'),
      },
    ],
    schema: {
      input: {
        id: z =>
          z
            .string()
            .min(1)
            .describe('The restore id (output id of kube-restore:create)'),
        timeoutSeconds: z =>
          z
            .number()
            .int()
            .min(1)
            .max(86400)
            .optional()
            .describe(
              `How long to wait for the end (default ${DEFAULT_TIMEOUT_SECONDS})`,
            ),
        pollSeconds: z =>
          z
            .number()
            .int()
            .min(1)
            .max(300)
            .optional()
            .describe(
              `How often to read the restore (default ${DEFAULT_POLL_SECONDS})`,
            ),
      },
      output: {
        name: z => z.string(),
        namespace: z => z.string(),
        pvc: z => z.string(),
        phase: z =>
          z.string().describe('Succeeded (a step that did not succeed fails)'),
        bytes: z => z.number().optional(),
        durationMs: z => z.number().optional(),
        summary: z => z.string(),
      },
    },
    async handler(ctx) {
      const credentials = await ctx.getInitiatorCredentials();
      const timeoutSeconds =
        ctx.input.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
      const pollMs = (ctx.input.pollSeconds ?? DEFAULT_POLL_SECONDS) * 1000;
      const deadline = Date.now() + timeoutSeconds * 1000;
      let view: RestoreView;
      let said = '';
      for (;;) {
        view = await client.get(credentials, ctx.input.id, ctx.signal);
        const summary = summaryOf(view);
        if (summary !== said) ctx.logger.info(summary);
        said = summary;
        if (ENDED.includes(view.phase)) break;
        const left = deadline - Date.now();
        if (left <= 0)
          throw new Error(
            `restore ${view.name} did not end within ${timeoutSeconds} s: ${summary}`,
          );
        await sleep(Math.min(pollMs, left), undefined, { signal: ctx.signal });
      }
      ctx.output('name', view.name);
      ctx.output('namespace', view.namespace);
      ctx.output('pvc', view.pvc);
      ctx.output('phase', view.phase);
      ctx.output('summary', said);
      if (view.phase === 'Failed')
        throw new Error(`restore ${view.name} failed: ${errorOf(view)}`);
      if (view.phase === 'Rejected')
        throw new Error(`restore ${view.name} was rejected: ${said}`);
      if (view.bytes !== undefined) ctx.output('bytes', view.bytes);
      if (view.durationMs !== undefined)
        ctx.output('durationMs', view.durationMs);
    },
  });
}
