/**
 * The populator: for each PVC whose spec.dataSourceRef names a RestoreSource (kube-restore.io), a
 * prime PVC `prime-<uid>` of the same class, size and modes is filled by core's restore Job, then its
 * PV is handed to the user's PVC (claimRef, as kubernetes-csi/lib-volume-populator does), and the prime
 * PVC and Job are removed. One worker reconciles one PVC at a time; nothing waits inside a reconcile
 * (a running restore is looked at again on its next event or resync).
 */
import {
  KubeClients,
  restoreSourceOf,
  WatchEventType,
  watchPvcs,
  ANNOTATION_PRIME_FOR,
} from '@kube-restore/core';
import { reconcilePvc, cleanUp, PvcLike, ReconcileContext } from './reconcile';

export interface PopulatorOptions {
  clients: KubeClients;
  /** the job image; core's default when absent */
  image?: string;
  /** a PVC is looked at again this often, events or not */
  resyncMs?: number;
  /** first and longest wait before a failed restore is tried again */
  backoff?: { initialMs: number; maxMs: number };
  log?: (message: string) => void;
}

export class Populator {
  private readonly known = new Map<string, PvcLike>();
  private readonly queue = new Set<string>();
  private readonly abort = new AbortController();
  private readonly ctx: ReconcileContext;
  private wake?: () => void;
  private worker?: Promise<void>;
  private watcher?: Promise<void>;
  private resync?: NodeJS.Timeout;
  private synced = false;

  constructor(private readonly options: PopulatorOptions) {
    this.ctx = {
      clients: options.clients,
      image: options.image,
      backoff: options.backoff ?? { initialMs: 10_000, maxMs: 300_000 },
      log: options.log ?? (() => {}),
      attempts: new Map(),
      reported: new Set(),
      isKnownUid: uid =>
        [...this.known.values()].some(p => p.metadata?.uid === uid),
    };
  }

  start(): void {
    this.watcher = watchPvcs(
      this.options.clients,
      (type, pvc) => this.onEvent(type, pvc),
      this.abort.signal,
    );
    this.worker = this.work();
    this.resync = setInterval(() => {
      for (const key of this.known.keys()) this.enqueue(key);
    }, this.options.resyncMs ?? 5000);
    this.resync.unref();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    if (this.resync) clearInterval(this.resync);
    this.wake?.();
    await Promise.all([this.watcher, this.worker]);
  }

  private onEvent(type: WatchEventType, pvc?: PvcLike) {
    if (type === 'RELISTED') {
      this.synced = true;
      return;
    }
    if (!pvc?.metadata?.uid) return;
    const interesting =
      restoreSourceOf(pvc) !== undefined ||
      pvc.metadata.annotations?.[ANNOTATION_PRIME_FOR] !== undefined;
    if (!interesting) return;
    const key = `${pvc.metadata.namespace}/${pvc.metadata.name}/${pvc.metadata.uid}`;
    if (type === 'DELETED') {
      this.known.delete(key);
      if (restoreSourceOf(pvc) !== undefined)
        cleanUp(this.ctx, pvc).catch(e =>
          this.ctx.log(`clean-up after ${key}: ${(e as Error).message}`),
        );
      return;
    }
    this.known.set(key, pvc);
    this.enqueue(key);
  }

  private enqueue(key: string) {
    this.queue.add(key);
    this.wake?.();
  }

  private async work(): Promise<void> {
    while (!this.abort.signal.aborted) {
      const key = this.queue.values().next().value;
      if (key === undefined) {
        await new Promise<void>(resolve => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      this.queue.delete(key);
      const pvc = this.known.get(key);
      if (!pvc) continue;
      try {
        await reconcilePvc(this.ctx, pvc, this.synced);
      } catch (e) {
        this.ctx.log(`${key}: ${(e as Error).message}`);
      }
    }
  }
}
