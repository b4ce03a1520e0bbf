/**
 * `kubectl restore plan` (alias `size`): reads the source and the cluster and creates nothing. Exit 0
 * when create should succeed; 3 when access is missing, 5 when the target PVC is in the way, 1 otherwise.
 */
import { formatBytes } from '@kube-restore/common';
import { RestorePlan, planRestore } from '@kube-restore/core';
import { EXIT } from '../errors';
import { CommandIo } from '../io';
import { outputFormat, printData } from '../output';
import {
  RequestFlags,
  credentialsFromEnv,
  parseRequestFlags,
} from '../request';
import { SessionFactory } from '../session';

export interface PlanOptions extends RequestFlags {
  output?: string;
}

function field(label: string, value: string): string {
  return `${`${label}:`.padEnd(18)}${value}\n`;
}

export function formatPlan(plan: RestorePlan, source: string): string {
  let text = field('Restore', `${plan.name} in namespace ${plan.namespace}`);
  text += field('Source', source);
  const s = plan.size;
  if (s) {
    text += field(
      'Objects',
      `${s.objects.toLocaleString('en-US')} (${formatBytes(s.bytes)}${s.estimated ? ', unpacked size estimated' : ''})`,
    );
    text += field('Largest object', formatBytes(s.largestObjectBytes));
    const verification = Object.entries(s.verification ?? {}).sort(
      (a, b) => b[1] - a[1] || a[0].localeCompare(b[0]),
    );
    if (verification.length > 0)
      text += field(
        'Verified by',
        verification.map(([how, n]) => `${how}: ${n}`).join(', '),
      );
    text += field(
      'Archived',
      s.archivedObjects
        ? `${s.archivedObjects} objects (${formatBytes(s.archivedBytes)}) need a thaw`
        : 'none',
    );
    if (s.archivedObjects) {
      for (const t of s.thawCost) {
        text += field(
          `  ${t.tier}`,
          t.available
            ? `~$${t.usd.toFixed(2)}, typically ${t.typicalHours} h`
            : 'not available for these objects',
        );
      }
    }
    text += field('Recommended size', s.recommendedSize);
  } else {
    text += field('Objects', `unknown (${plan.sourceError ?? 'not read'})`);
  }
  const p = plan.pvc;
  let target = `${p.name} will be created${plan.pvcSize ? ` with ${plan.pvcSize}` : ''}`;
  if (p.error) target = `${p.name}: cannot be read`;
  else if (p.exists) {
    target = `${p.name} exists (${p.capacity ?? 'unknown size'}${p.phase ? `, ${p.phase}` : ''}${p.createdBy ? `, created by restore ${p.createdBy}` : ''})`;
  }
  text += field('Target PVC', target);
  text += 'Access:\n';
  for (const a of plan.access) {
    text += `  ${a.allowed ? 'yes' : 'NO '}  ${a.verb} ${a.resource}${a.subresource ? `/${a.subresource}` : ''}${a.group ? `.${a.group}` : ''}\n`;
  }
  if (plan.problems.length === 0) text += 'Ready:            yes\n';
  else
    text += `Ready:            no\n${plan.problems.map(x => `  - ${x}\n`).join('')}`;
  return text;
}

export async function planCommand(
  options: PlanOptions,
  io: CommandIo,
  session: SessionFactory,
): Promise<number> {
  const format = outputFormat(options.output, ['json', 'yaml']);
  parseRequestFlags(options, 'default');
  const credentials = options.credentialsFromEnv
    ? credentialsFromEnv(io.env ?? process.env)
    : undefined;
  const { clients, namespace } = await session();
  const request = parseRequestFlags(options, namespace);
  const plan = await planRestore(clients, request, {
    credentials,
    withSecret: !!credentials,
  });
  if (format) printData(io.stdout, format, plan);
  else io.stdout.write(formatPlan(plan, options.from ?? ''));
  if (plan.problems.length === 0) return EXIT.OK;
  if (plan.access.some(a => !a.allowed)) return EXIT.FORBIDDEN;
  if (plan.problems.some(x => /already exists/.test(x))) return EXIT.CONFLICT;
  return EXIT.FAILED;
}
