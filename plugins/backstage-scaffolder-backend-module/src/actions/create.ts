/**
 * `kube-restore:create`: starts a restore for the template's user, through the restore backend's
 * `POST /restores` (see client.ts for why the backend decides everything). A dry run asks `POST /plan`
 * instead and creates nothing. The step ends once the restore exists (or waits for an approval);
 * `kube-restore:wait` follows it to its end.
 */
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import type { RestoreView } from '@kube-restore/backstage-plugin-restore-common';
import {
  ARCHIVE_TIERS,
  CONFLICT_POLICIES,
  SOURCE_FORMATS,
} from '@kube-restore/common';
import { RestoreBackendClient, RestoreBody } from '../client';
import { summaryOf } from './summary';

export const CREATE_ACTION_ID = 'kube-restore:create';

export function createRestoreAction(options: { client: RestoreBackendClient }) {
  const { client } = options;
  return createTemplateAction({
    id: CREATE_ACTION_ID,
    description:
      "Restores data from a configured S3 source into a PVC of a catalog entity's namespace, for the user running the template, with the same permissions, namespace consent, limits, approvals and audit as the Restore tab.",
    supportsDryRun: true,
    examples: [
      {
        description: 'Restore the nightly backup of one folder into a new PVC',
        example: [
          'steps:',
          '  - id: restore',
          '    action: kube-restore:create',
          '    input:',
          '      entityRef: ${{ parameters.entityRef }}',
          '      source: { name: nightly, path: data/ }',
          '      target: { pvc: ${{ parameters.pvc }}, mode: new, size: 1Gi }',
        ].join('\n'),
      },
    ],
    schema: {
      input: {
        entityRef: z =>
          z
            .string()
            .min(1)
            .describe(
              'The catalog entity the restore is for; its annotations name the cluster and namespace (e.g. component:default/shop)',
            ),
        name: z =>
          z
            .string()
            .min(1)
            .optional()
            .describe('The restore name (default: derived from the request)'),
        source: z =>
          z
            .object({
              name: z
                .string()
                .min(1)
                .describe('A source configured in kubeRestore.sources'),
              path: z
                .string()
                .max(1024)
                .optional()
                .describe(
                  "Below the source's prefix for this entity: a sub-prefix ending in /, or one key (an archive)",
                ),
              format: z.enum(SOURCE_FORMATS).optional(),
              include: z.array(z.string()).optional(),
              exclude: z.array(z.string()).optional(),
              stripPrefix: z.string().optional(),
              asOf: z
                .string()
                .optional()
                .describe(
                  'RFC 3339 time: restore the object versions of that moment',
                ),
              archiveTier: z.enum([...ARCHIVE_TIERS, 'fail']).optional(),
            })
            .strict()
            .describe('Where the data comes from'),
        target: z =>
          z
            .object({
              pvc: z.string().min(1).describe('The PVC to fill'),
              mode: z.enum(['new', 'existing']).optional(),
              size: z.string().optional().describe('A quantity (10Gi) or auto'),
              storageClassName: z.string().optional(),
              accessModes: z.array(z.string()).optional(),
              conflict: z.enum(CONFLICT_POLICIES).optional(),
            })
            .strict()
            .describe('The PVC in the entity namespace'),
        options: z =>
          z
            .record(z.unknown())
            .optional()
            .describe(
              "The restore's options (concurrency, verification, owner, ...)",
            ),
      },
      output: {
        id: z => z.string().describe('The restore id, for kube-restore:wait'),
        name: z => z.string().describe('The restore (Job) name'),
        cluster: z => z.string(),
        namespace: z => z.string(),
        pvc: z => z.string(),
        phase: z =>
          z
            .string()
            .describe(
              'Pending, Running, ..., or PendingApproval; DryRun in a dry run',
            ),
        summary: z => z.string(),
      },
    },
    async handler(ctx) {
      const credentials = await ctx.getInitiatorCredentials();
      const body: RestoreBody = withoutUndefined({
        entityRef: ctx.input.entityRef,
        name: ctx.input.name,
        source: ctx.input.source,
        target: ctx.input.target,
        options: ctx.input.options,
      });
      if (ctx.isDryRun) {
        const plan = await client.plan(credentials, body, ctx.signal);
        for (const problem of [...plan.problems, ...plan.quota.problems])
          ctx.logger.warn(`would fail: ${problem}`);
        ctx.output('id', '');
        ctx.output('name', plan.name);
        ctx.output('cluster', plan.cluster);
        ctx.output('namespace', plan.namespace);
        ctx.output('pvc', body.target.pvc);
        ctx.output('phase', 'DryRun');
        ctx.output(
          'summary',
          `dry run: restore ${plan.name} of ${plan.source} into PVC ${body.target.pvc} in ${plan.cluster}/${plan.namespace}${plan.approval.required ? ', needs approval' : ''}`,
        );
        return;
      }
      // A task resumed after a restart does not ask again (the backend would answer with the same restore anyway).
      const view = (await ctx.checkpoint({
        key: `kube-restore-create:${body.entityRef}:${body.target.pvc}:${body.name ?? ''}`,
        fn: async () =>
          JSON.parse(
            JSON.stringify(await client.create(credentials, body, ctx.signal)),
          ),
      })) as RestoreView;
      const summary = summaryOf(view);
      ctx.logger.info(summary);
      ctx.output('id', view.id);
      ctx.output('name', view.name);
      ctx.output('cluster', view.cluster);
      ctx.output('namespace', view.namespace);
      ctx.output('pvc', view.pvc);
      ctx.output('phase', view.phase);
      ctx.output('summary', summary);
    },
  });
}

/** The body without keys whose value is undefined (the backend's schema is strict about unknown keys only). */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(
    Object.entries(value).filter(([, v]) => v !== undefined),
  ) as T;
}
