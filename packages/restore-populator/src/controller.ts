/**
 * The populator: for each PVC whose spec.dataSourceRef names a RestoreSource (kube-restore.io), a
 * prime PVC `prime-<uid>` of the same class, size and modes is filled by core's restore Job, then its
 * PV is handed to the user's PVC (claimRef, as kubernetes-csi/lib-volume-populator does), and the prime
 * PVC and Job are removed. One worker reconciles one PVC at a time; nothing waits inside a reconcile
 * (a running restore is looked at again on its next event or resync).
 *
 * With leader election (main.ts), every replica watches (a standby's view is warm) and only the
 * leader's worker reconciles: setLeading(true) starts it, and a replica that stops leading exits.
 */
import {
  KubeClients,
  restoreSourceOf,
  WatchEventType,
  watchPvcs,
  ANNOTATION_PRIME_FOR,
} from '@kube-restore/core';
import {
  reconcilePvc,
  cleanUp,
  PopulatorObserver,
  PvcLike,
  ReconcileContext,
} from './reconcile';

export interface PopulatorOptions {
  clients: KubeClients;
  /** the job image; core's default when absent */
  image?: string;
  /** a PVC is looked at again this often, events or not */
  resyncMs?: number;
  /** first and longest wait before a failed restore is tried again */
  backoff?: { initialMs: number; maxMs: number };
  log?: (message: string) => void;
  /** told what happens (metrics) */
  observe?: PopulatorObserver;
  /** whether the worker reconciles from the start; default true (false: wait for setLeading) */
  leading?: boolean;
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
  private leading: boolean;
  private watchFailed = false;

  constructor(private readonly options: PopulatorOptions) {
    this.ctx = {
      clients: options.clients,
      image: options.image,
      backoff: options.backoff ?? { initialMs: 10_000, maxMs: 300_000 },
      log: options.log ?? (() => {}),
      observe: options.observe,
      attempts: new Map(),
      reported: new Set(),
      isKnownUid: uid =>
        [...this.known.values()].some(p => p.metadata?.uid === uid),
    };
    this.leading = options.leading ?? true;
  }

  /** Whether the PVC watch has listed once and has not ended with an error. */
  get watching(): boolean {
    return this.synced && !this.watchFailed;
  }

  /** Starts (true) or pauses (false) reconciling; the watch goes on either way. */
  setLeading(leading: boolean): void {
    this.leading = leading;
    if (leading) this.wake?.();
  }

  start(): void {
    this.watcher = watchPvcs(
      this.options.clients,
      (type, pvc) => this.onEvent(type, pvc),
      this.abort.signal,
    ).catch(e => {
      this.watchFailed = true;
      this.ctx.log(`the PVC watch ended: ${(e as Error).message}`);
    });
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
      const key = this.leading ? this.queue.values().next().value : undefined;
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
        this.ctx.observe?.reconciled(true);
      } catch (e) {
        this.ctx.observe?.reconciled(false);
        this.ctx.log(`${key}: ${(e as Error).message}`);
      }
    }
  }
}
