/** One line about a restore for a template's output and log: where it goes, its phase, what it did or why it failed. */
import type { RestoreView } from '@kube-restore/backstage-plugin-restore-common';
import { formatBytes } from '@kube-restore/common';

export function summaryOf(view: RestoreView): string {
  const where = `restore ${view.name} into PVC ${view.pvc} in ${view.cluster}/${view.namespace}`;
  switch (view.phase) {
    case 'Succeeded': {
      const objects = view.status?.result?.objects;
      const parts = [
        objects === undefined ? undefined : `${objects} object(s)`,
        view.bytes === undefined ? undefined : formatBytes(view.bytes),
        view.durationMs === undefined
          ? undefined
          : `in ${(view.durationMs / 1000).toFixed(1)} s`,
      ].filter(Boolean);
      return `${where}: Succeeded${parts.length ? `, ${parts.join(' ')}` : ''}`;
    }
    case 'Failed':
      return `${where}: Failed, ${errorOf(view)}`;
    case 'PendingApproval':
      return `${where}: waits for approval (${(view.approval?.reasons ?? []).map(r => r.reason).join('; ') || 'an approval rule matched'})`;
    case 'Rejected':
      return `${where}: Rejected${view.approval?.decision?.comment ? ` (${view.approval.decision.comment})` : ''}`;
    default: {
      const p = view.status?.progress;
      return p
        ? `${where}: ${view.phase}, ${p.objectsDone}${p.objectsTotal === undefined ? '' : `/${p.objectsTotal}`} object(s)`
        : `${where}: ${view.phase}`;
    }
  }
}

/** `CODE: message` of a failed restore (the job's error code when it reported one). */
export function errorOf(view: RestoreView): string {
  const error = view.status?.error ?? view.error;
  if (!error) return 'no error reported';
  return error.code ? `${error.code}: ${error.message}` : error.message;
}
