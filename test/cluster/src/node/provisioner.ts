/*
 * A dynamic provisioner for the `local` StorageClass that behaves like the local-path provisioners
 * people run on kind and k3s: WaitForFirstConsumer (the scheduler picks the node, the PV controller
 * hands the claim to us with the selected-node annotation), one directory per volume on that node
 * (mode 0777, as local-path makes them), a `local` PV with node affinity to it, and on release with
 * reclaimPolicy Delete the directory and the PV are removed.
 *
 * Why not rancher's local-path-provisioner itself: it creates and removes directories through helper
 * pods that need a shell image (busybox), which cannot be pulled here; the part that matters to
 * kube-restore (the PV it produces, its node affinity, the directory's mode, the binding handshake
 * with the real PV controller and scheduler) is what this reproduces. Its PVs are `local` rather than
 * `hostPath` so that the kubelet's fsGroup ownership management applies, as with most CSI drivers.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Informer, KubeApiError, KubeClient } from '../kube';

export const PROVISIONER = 'kube-restore.io/local-path';

function isCloneOrSnapshot(ref: { apiGroup?: string; kind?: string }): boolean {
  return (
    (!ref.apiGroup && ref.kind === 'PersistentVolumeClaim') ||
    (ref.apiGroup === 'snapshot.storage.k8s.io' &&
      ref.kind === 'VolumeSnapshot')
  );
}
const SELECTED_NODE = 'volume.kubernetes.io/selected-node';
const STORAGE_PROVISIONER = 'volume.kubernetes.io/storage-provisioner';

export class LocalPathProvisioner {
  private pvcs?: Informer;
  private pvs?: Informer;
  private readonly busy = new Set<string>();
  private resync?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly o: {
      client: KubeClient;
      storageClass: string;
      /** node name -> directory that holds its volumes */
      volumeDirs: Record<string, string>;
      log: (msg: string) => void;
    },
  ) {}

  async start(): Promise<void> {
    await this.o.client.ensure('/apis/storage.k8s.io/v1/storageclasses', {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: {
        name: this.o.storageClass,
        annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' },
      },
      provisioner: PROVISIONER,
      reclaimPolicy: 'Delete',
      volumeBindingMode: 'WaitForFirstConsumer',
      allowVolumeExpansion: false,
    });
    for (const d of Object.values(this.o.volumeDirs))
      fs.mkdirSync(d, { recursive: true });
    this.pvcs = new Informer(
      this.o.client,
      '/api/v1/persistentvolumeclaims',
      (t, pvc) =>
        t !== 'DELETED' &&
        this.run(`pvc:${pvc.metadata.uid}`, () => this.provision(pvc)),
      this.o.log,
    );
    this.pvs = new Informer(
      this.o.client,
      '/api/v1/persistentvolumes',
      (t, pv) =>
        t !== 'DELETED' &&
        this.run(`pv:${pv.metadata.name}`, () => this.reclaim(pv)),
      this.o.log,
    );
    this.pvcs.start();
    this.pvs.start();
    await Promise.all([this.pvcs.waitForSync(), this.pvs.waitForSync()]);
    // events that arrive while a key is busy are dropped: a resync picks up what they said
    this.resync = setInterval(() => {
      for (const pvc of this.pvcs?.list() ?? [])
        this.run(`pvc:${pvc.metadata.uid}`, () => this.provision(pvc));
      for (const pv of this.pvs?.list() ?? [])
        this.run(`pv:${pv.metadata.name}`, () => this.reclaim(pv));
    }, 2000);
    this.resync.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.resync) clearInterval(this.resync);
    await Promise.all([this.pvcs?.stop(), this.pvs?.stop()]);
  }

  /** The host directory behind a bound PVC (local or hostPath PVs). */
  async pvcPath(namespace: string, name: string): Promise<string> {
    const pvc = await this.o.client.get(
      `/api/v1/namespaces/${namespace}/persistentvolumeclaims/${name}`,
    );
    if (!pvc.spec.volumeName)
      throw new Error(
        `PVC ${namespace}/${name} is not bound to a volume yet (WaitForFirstConsumer: a pod must use it first)`,
      );
    const pv = await this.o.client.get(
      `/api/v1/persistentvolumes/${pvc.spec.volumeName}`,
    );
    const dir = pv.spec.local?.path ?? pv.spec.hostPath?.path;
    if (!dir)
      throw new Error(`PV ${pv.metadata.name} is neither local nor hostPath`);
    return dir;
  }

  private run(key: string, fn: () => Promise<void>) {
    if (this.busy.has(key) || this.stopped) return;
    this.busy.add(key);
    fn()
      .catch(e => {
        if (!this.stopped)
          this.o.log(`provisioner ${key}: ${(e as Error).message}`);
      })
      .finally(() => this.busy.delete(key));
  }

  private async provision(pvc: any): Promise<void> {
    const ann = pvc.metadata.annotations ?? {};
    if (pvc.spec.volumeName || pvc.metadata.deletionTimestamp) return;
    if (ann[STORAGE_PROVISIONER] !== PROVISIONER) return;
    // A claim whose data comes from a volume populator is the populator's to fill (it provisions a
    // prime claim and moves the PV over), as CSI provisioners leave it: only a PVC or a snapshot as
    // the data source is a provisioner's business, and this one clones neither.
    if (pvc.spec.dataSourceRef && !isCloneOrSnapshot(pvc.spec.dataSourceRef))
      return;
    const node = ann[SELECTED_NODE];
    if (!node) return;
    const base = this.o.volumeDirs[node];
    if (!base) {
      this.o.log(
        `provisioner: PVC ${pvc.metadata.namespace}/${pvc.metadata.name} selected unknown node ${node}`,
      );
      return;
    }
    const { namespace, name, uid } = pvc.metadata;
    const pvName = `pvc-${uid}`;
    const dir = path.join(base, `${pvName}_${namespace}_${name}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.chmodSync(dir, 0o777);
    try {
      await this.o.client.post('/api/v1/persistentvolumes', {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: {
          name: pvName,
          annotations: { 'pv.kubernetes.io/provisioned-by': PROVISIONER },
        },
        spec: {
          capacity: { storage: pvc.spec.resources?.requests?.storage ?? '1Gi' },
          accessModes: pvc.spec.accessModes ?? ['ReadWriteOnce'],
          persistentVolumeReclaimPolicy: 'Delete',
          storageClassName: pvc.spec.storageClassName,
          volumeMode: pvc.spec.volumeMode ?? 'Filesystem',
          local: { path: dir },
          nodeAffinity: {
            required: {
              nodeSelectorTerms: [
                {
                  matchExpressions: [
                    {
                      key: 'kubernetes.io/hostname',
                      operator: 'In',
                      values: [node],
                    },
                  ],
                },
              ],
            },
          },
          claimRef: {
            apiVersion: 'v1',
            kind: 'PersistentVolumeClaim',
            namespace,
            name,
            uid,
          },
        },
      });
      this.o.log(
        `provisioned ${pvName} on ${node} for PVC ${namespace}/${name}`,
      );
    } catch (e) {
      if (!(e instanceof KubeApiError && e.statusCode === 409)) throw e;
    }
  }

  private async reclaim(pv: any): Promise<void> {
    if (
      pv.metadata.annotations?.['pv.kubernetes.io/provisioned-by'] !==
      PROVISIONER
    )
      return;
    if (
      pv.status?.phase !== 'Released' ||
      pv.spec.persistentVolumeReclaimPolicy !== 'Delete'
    )
      return;
    const dir: string | undefined = pv.spec.local?.path;
    const inside = Object.values(this.o.volumeDirs).some(b =>
      dir?.startsWith(b + path.sep),
    );
    if (dir && inside) fs.rmSync(dir, { recursive: true, force: true });
    await this.o.client
      .delete(`/api/v1/persistentvolumes/${pv.metadata.name}`)
      .catch(e => {
        if (!(e instanceof KubeApiError && e.statusCode === 404)) throw e;
      });
    this.o.log(`reclaimed ${pv.metadata.name}`);
  }
}
