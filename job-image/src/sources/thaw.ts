/**
 * Archived objects (GLACIER, DEEP_ARCHIVE, Intelligent-Tiering archive tiers): find them with HEAD,
 * RestoreObject with the requested tier and days, then poll HEAD's x-amz-restore with backoff until
 * every copy is readable or `waitSeconds` ran out (THAW_TIMEOUT). What waits is spooled to the
 * scratch directory, not held in memory.
 */
import {
  ARCHIVED_INTELLIGENT_TIERING_STATUSES,
  ARCHIVED_STORAGE_CLASSES,
  ArchiveTier,
} from '@kube-restore/common';
import { RestoreError } from '../errors';
import type { ObjectHead } from '../s3/objectHead';
import { Spool } from '../scratch';
import { controlCall, forEachLimited, headOf } from './util';
import { forEachStreamed } from './window';
import type { RestoreContext } from './types';

export interface ThawItem {
  key: string;
  versionId?: string;
  storageClass?: string;
  archived?: boolean;
}

export function parseRestoreHeader(
  restore: string | undefined,
): 'none' | 'ongoing' | 'restored' {
  if (!restore) return 'none';
  return /ongoing-request="true"/.test(restore) ? 'ongoing' : 'restored';
}

/** Does a HEAD say the object's bytes cannot be read before a thaw? */
export function isArchived(
  head: Pick<ObjectHead, 'storageClass' | 'restore' | 'archiveStatus'>,
): boolean {
  const { storageClass, archiveStatus } = head;
  const archivedClass =
    storageClass !== undefined &&
    (ARCHIVED_STORAGE_CLASSES as readonly string[]).includes(storageClass);
  const archivedTier =
    archiveStatus !== undefined &&
    (ARCHIVED_INTELLIGENT_TIERING_STATUSES as readonly string[]).includes(
      archiveStatus,
    );
  return (
    (archivedClass || archivedTier) &&
    parseRestoreHeader(head.restore) !== 'restored'
  );
}

/** Whether an object of this storage class may need a thaw (needsThaw HEADs only those). */
export function mayBeArchived(storageClass: string | undefined): boolean {
  return (
    storageClass !== undefined &&
    ((ARCHIVED_STORAGE_CLASSES as readonly string[]).includes(storageClass) ||
      storageClass === 'INTELLIGENT_TIERING')
  );
}

/** HEADs `item` if its storage class may be archived; true (its class updated) when it needs a thaw. */
export async function needsThaw(
  ctx: RestoreContext,
  item: ThawItem,
  signal: AbortSignal = ctx.signal,
): Promise<boolean> {
  if (!mayBeArchived(item.storageClass)) return false;
  const head = await headOf(ctx, item, signal);
  if (!isArchived(head)) return false;
  item.archived = true;
  item.storageClass =
    head.archiveStatus ?? head.storageClass ?? item.storageClass;
  return true;
}

/** HEADs the items whose storage class may be archived; marks and returns those that need a thaw. */
export async function findArchived<T extends ThawItem>(
  ctx: RestoreContext,
  items: T[],
): Promise<T[]> {
  const archived: T[] = [];
  await forEachLimited(
    items.filter(o => mayBeArchived(o.storageClass)),
    ctx.tuning.concurrency,
    ctx.signal,
    async item => {
      if (await needsThaw(ctx, item)) archived.push(item);
    },
  );
  return archived;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new RestoreError('CANCELLED', 'the restore was stopped'));
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    function onAbort() {
      clearTimeout(timer);
      reject(new RestoreError('CANCELLED', 'the restore was stopped'));
    }
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Requests a thaw of every item and waits until all are readable. The items come as a stream and
 * the ones still waiting are kept in a spool in the scratch directory, rewritten at each poll: the
 * memory used does not grow with the number of archived objects.
 */
export async function thawObjects(
  ctx: RestoreContext,
  items: Iterable<ThawItem> | AsyncIterable<ThawItem>,
): Promise<void> {
  const { request, reporter, s3, tuning, scratch } = ctx;
  const { archive } = request.source;
  const { client, commands } = s3.controlCalls();
  const c = reporter.counters;
  let waiting = await Spool.create<ThawItem>(scratch.file('thaw'));
  await forEachStreamed(
    ctx.signal,
    items,
    tuning.concurrency,
    async (item, signal) => {
      let tier = archive.tier as ArchiveTier;
      if (tier === 'Expedited' && item.storageClass === 'DEEP_ARCHIVE')
        tier = 'Standard';
      const intelligentTiering =
        item.storageClass === 'ARCHIVE_ACCESS' ||
        item.storageClass === 'DEEP_ARCHIVE_ACCESS';
      try {
        await controlCall(ctx, item.key, () =>
          client.send(
            new commands.RestoreObjectCommand({
              Bucket: s3.bucket,
              Key: item.key,
              VersionId: item.versionId,
              // Intelligent-Tiering archive tiers take no Days (the object moves back to a frequent tier).
              RestoreRequest: intelligentTiering
                ? {}
                : { Days: archive.days, GlacierJobParameters: { Tier: tier } },
            }),
            { abortSignal: signal },
          ),
        );
      } catch (error) {
        const cause = (error as RestoreError).cause as
          { name?: string } | undefined;
        if (cause?.name !== 'RestoreAlreadyInProgress') throw error;
      }
      await waiting.append(item);
    },
  );
  await waiting.finish();
  const total = waiting.size;
  c.thaw = { waiting: total, ready: 0 };
  reporter.log('info', 'thaw requested', {
    objects: total,
    tier: archive.tier,
    days: archive.days,
  });
  reporter.emit();
  const deadline = Date.now() + archive.waitSeconds * 1000;
  let interval = tuning.thawPollMs;
  while (waiting.size > 0) {
    if (Date.now() >= deadline) {
      const first = await firstOf(waiting.read());
      throw new RestoreError(
        'THAW_TIMEOUT',
        `${waiting.size} archived object(s) were not restored within ${archive.waitSeconds}s`,
        { entry: first?.key },
      );
    }
    await sleep(
      Math.min(interval, Math.max(0, deadline - Date.now())),
      ctx.signal,
    );
    interval = Math.min(tuning.thawPollMaxMs, Math.ceil(interval * 1.5));
    const still = await Spool.create<ThawItem>(scratch.file('thaw'));
    await forEachStreamed(
      ctx.signal,
      waiting.read(),
      tuning.concurrency,
      async (item, signal) => {
        const head = await headOf(ctx, item, signal);
        if (isArchived(head)) await still.append(item);
      },
    );
    await still.finish();
    await waiting.remove();
    waiting = still;
    c.thaw = { waiting: waiting.size, ready: total - waiting.size };
    reporter.maybeEmit();
  }
  await waiting.remove();
  reporter.log('info', 'thaw complete', { objects: total });
  c.thaw = undefined;
}

async function firstOf<T>(items: AsyncIterable<T>): Promise<T | undefined> {
  for await (const item of items) return item;
  return undefined;
}
