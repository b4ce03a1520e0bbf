/**
 * Approvals: an approver approves (the restore starts, if the namespace still consents and has room) or
 * rejects (nothing is ever created) a restore waiting in PendingApproval. Nobody decides their own request.
 */
import { AuditorService } from '@backstage/backend-plugin-api';
import { ConflictError, NotAllowedError } from '@backstage/errors';
import {
  ApprovalState,
  RecordPhase,
  RestoreView,
  restoreApprovePermission,
} from '@kube-restore/backstage-plugin-restore-common';
import { QuotaExceededError, toBackstageError } from '../errors';
import { Caller, RestoreAccess, requesterOf } from './access';
import { NamespaceConsentPolicy } from './consent';
import { RestorePolicy } from './policy';
import { RestoreRecorder } from './recorder';
import { RestoreRecord, RestoreStore } from './RestoreStore';
import { auditMetaOf, toView } from './views';

export class ApprovalService {
  constructor(
    private readonly options: {
      access: RestoreAccess;
      consent: NamespaceConsentPolicy;
      policy: RestorePolicy;
      store: RestoreStore;
      auditor: AuditorService;
      recorder: RestoreRecorder;
      /** Creates an approved restore in the cluster (RestoreService.start). */
      start: (record: RestoreRecord) => Promise<RestoreView>;
    },
  ) {}

  approve(id: string, comment: string | undefined, caller: Caller) {
    return this.decide(id, 'approved', comment, caller);
  }

  reject(id: string, comment: string | undefined, caller: Caller) {
    return this.decide(id, 'rejected', comment, caller);
  }

  private async decide(
    id: string,
    state: 'approved' | 'rejected',
    comment: string | undefined,
    caller: Caller,
  ): Promise<RestoreView> {
    const { access, consent, policy, store, auditor, recorder } = this.options;
    const record = await access.authorizedRecord(
      id,
      restoreApprovePermission,
      'approve restores for',
      caller,
    );
    // Approving creates in the namespace: it must still consent (it may have withdrawn since the request).
    if (state === 'approved') await consent.require(record);
    const by = requesterOf(caller.credentials);
    const audit = await auditor.createEvent({
      eventId: state === 'approved' ? 'restore-approve' : 'restore-reject',
      severityLevel: 'medium',
      request: caller.request,
      meta: {
        ...auditMetaOf(record, record.requester),
        approver: by,
        ...(comment ? { comment } : {}),
      },
    });
    try {
      if (record.phase !== 'PendingApproval' || record.deletedAt) {
        throw new ConflictError(
          `restore ${record.name} is not waiting for approval (phase ${record.phase})`,
        );
      }
      if (by === record.requester)
        throw new NotAllowedError(
          'a restore cannot be approved or rejected by the person who asked for it',
        );
      await policy.checkApprover(record, caller.credentials);
      const approval: ApprovalState = {
        ...(record.approval ?? { required: true, reasons: [] }),
        decision: {
          state,
          by,
          at: new Date().toISOString(),
          ...(comment ? { comment } : {}),
        },
      };
      const next: RecordPhase = state === 'approved' ? 'Pending' : 'Rejected';
      // Restores of the namespace that ended since the last reconciliation free their slot first.
      if (state === 'approved')
        await recorder.reconcile({
          cluster: record.cluster,
          namespace: record.namespace,
        });
      // An approved restore starts now: it must fit the namespace's limit, checked and taken as one step.
      const changed = await store.exclusive(async tx => {
        if (state === 'approved') {
          const problems = await policy.concurrencyProblems(tx, record);
          if (problems.length)
            throw new QuotaExceededError(
              `cannot start the restore yet: ${problems.join('; ')}`,
            );
        }
        return tx.update(
          id,
          {
            phase: next,
            approval,
            ...(state === 'rejected'
              ? { finishedAt: approval.decision!.at }
              : {}),
          },
          'PendingApproval',
        );
      });
      if (!changed)
        throw new ConflictError(
          `restore ${record.name} was decided by someone else meanwhile`,
        );
      if (state === 'rejected') await recorder.rejected(record, by, comment);
      const updated = await access.record(id);
      const view =
        state === 'approved'
          ? await this.options.start(updated)
          : toView(updated);
      await audit.success({ meta: { phase: view.phase } });
      return view;
    } catch (error) {
      await audit.fail({ error: error as Error });
      throw toBackstageError(error);
    }
  }
}
