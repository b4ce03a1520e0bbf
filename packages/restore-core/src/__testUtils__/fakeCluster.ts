/**
 * An in-memory stand-in for the few API calls core makes, for unit tests of the logic around them
 * (ordering, rollback, idempotency, error translation). It answers like the API server where core
 * depends on it: 404 and 409 as ApiException, uids on create, dryRun=All persists nothing, a merge
 * patch of spec.suspend. What the real API server does with the objects is test/e2e's job.
 */
import {
  ApiException,
  CoreV1Event,
  V1Job,
  V1PersistentVolumeClaim,
  V1Pod,
  V1Secret,
} from '@kubernetes/client-node';
import type { KubeClients } from '../clients';

type Kind = 'jobs' | 'pvcs' | 'secrets' | 'leases';

export interface Call {
  method: string;
  namespace?: string;
  name?: string;
  dryRun?: string;
  body?: any;
  labelSelector?: string;
  fieldSelector?: string;
}

const clone = <T>(o: T): T => JSON.parse(JSON.stringify(o));

export function apiError(code: number, message = `HTTP ${code}`) {
  return new ApiException(code, message, { kind: 'Status', message }, {});
}

export class FakeCluster {
  readonly objects: Record<Kind, Map<string, any>> = {
    jobs: new Map(),
    pvcs: new Map(),
    secrets: new Map(),
    leases: new Map(),
  };
  pods: V1Pod[] = [];
  events: CoreV1Event[] = [];
  /** Pod logs by pod name. */
  logs: Record<string, string> = {};
  /** Answers of SelfSubjectAccessReview, by `verb resource[/subresource]`; default allowed. */
  denied = new Set<string>();
  readonly calls: Call[] = [];
  /** Called with every call before it is answered (to change the cluster between two reads). */
  onCall?: (call: Call) => void;
  private readonly failures = new Map<string, unknown>();
  private uids = 0;
  private versions = 0;

  /** The next call of `method` throws `error` (once). */
  failNext(method: string, error: unknown): void {
    this.failures.set(method, error);
  }

  /** Methods called, in order, as `method namespace/name`. */
  callNames(): string[] {
    return this.calls.map(c =>
      c.name ? `${c.method} ${c.namespace}/${c.name}` : c.method,
    );
  }

  /** Stores a copy of `object` (any shape: what a controller or another client left there). */
  put(kind: Kind, object: any) {
    const key = `${object.metadata?.namespace}/${object.metadata?.name}`;
    this.objects[kind].set(key, clone(object));
  }

  get(kind: Kind, namespace: string, name: string): any {
    return this.objects[kind].get(`${namespace}/${name}`);
  }

  private record(call: Call): void {
    this.calls.push(call);
    this.onCall?.(call);
    const failure = this.failures.get(call.method);
    if (failure !== undefined) {
      this.failures.delete(call.method);
      throw failure;
    }
  }

  private read(kind: Kind, namespace: string, name: string) {
    const o = this.get(kind, namespace, name);
    if (!o) throw apiError(404, `${kind} "${name}" not found`);
    return clone(o);
  }

  private create(kind: Kind, namespace: string, body: any, dryRun?: string) {
    const key = `${namespace}/${body.metadata.name}`;
    if (this.objects[kind].has(key))
      throw apiError(409, `${kind} "${body.metadata.name}" already exists`);
    const created = clone(body);
    created.metadata.uid = dryRun ? undefined : `uid-${++this.uids}`;
    created.metadata.resourceVersion = String(++this.versions);
    if (!dryRun) this.objects[kind].set(key, created);
    return clone(created);
  }

  private remove(kind: Kind, namespace: string, name: string) {
    if (!this.objects[kind].delete(`${namespace}/${name}`))
      throw apiError(404, `${kind} "${name}" not found`);
    return {};
  }

  clients(): KubeClients {
    const batch = {
      readNamespacedJob: async ({ name, namespace }: any): Promise<V1Job> => {
        this.record({ method: 'readJob', namespace, name });
        return this.read('jobs', namespace, name);
      },
      createNamespacedJob: async ({ namespace, body, dryRun }: any) => {
        this.record({
          method: 'createJob',
          namespace,
          name: body.metadata.name,
          dryRun,
          body: clone(body),
        });
        return this.create('jobs', namespace, body, dryRun);
      },
      patchNamespacedJob: async ({ name, namespace, body }: any) => {
        this.record({ method: 'patchJob', namespace, name, body });
        const job = this.read('jobs', namespace, name);
        job.spec = { ...job.spec, ...body.spec };
        this.put('jobs', job);
        return job;
      },
      deleteNamespacedJob: async ({
        name,
        namespace,
        propagationPolicy,
      }: any) => {
        this.record({
          method: 'deleteJob',
          namespace,
          name,
          body: { propagationPolicy },
        });
        return this.remove('jobs', namespace, name);
      },
      listNamespacedJob: async ({ namespace, labelSelector }: any) => {
        this.record({ method: 'listJobs', namespace, labelSelector });
        return {
          items: [...this.objects.jobs.values()]
            .filter(j => j.metadata.namespace === namespace)
            .map(clone),
        };
      },
      listJobForAllNamespaces: async ({ labelSelector }: any) => {
        this.record({ method: 'listJobsAllNamespaces', labelSelector });
        return { items: [...this.objects.jobs.values()].map(clone) };
      },
    };
    const core = {
      readNamespacedPersistentVolumeClaim: async ({
        name,
        namespace,
      }: any): Promise<V1PersistentVolumeClaim> => {
        this.record({ method: 'readPvc', namespace, name });
        return this.read('pvcs', namespace, name);
      },
      createNamespacedPersistentVolumeClaim: async ({
        namespace,
        body,
        dryRun,
      }: any) => {
        this.record({
          method: 'createPvc',
          namespace,
          name: body.metadata.name,
          dryRun,
          body: clone(body),
        });
        return this.create('pvcs', namespace, body, dryRun);
      },
      deleteNamespacedPersistentVolumeClaim: async ({
        name,
        namespace,
      }: any) => {
        this.record({ method: 'deletePvc', namespace, name });
        return this.remove('pvcs', namespace, name);
      },
      readNamespacedSecret: async ({ name, namespace }: any) => {
        this.record({ method: 'readSecret', namespace, name });
        return this.read('secrets', namespace, name);
      },
      createNamespacedSecret: async ({
        namespace,
        body,
        dryRun,
      }: any): Promise<V1Secret> => {
        this.record({
          method: 'createSecret',
          namespace,
          name: body.metadata.name,
          dryRun,
          body: clone(body),
        });
        return this.create('secrets', namespace, body, dryRun);
      },
      listNamespacedPod: async ({ namespace, labelSelector }: any) => {
        this.record({ method: 'listPods', namespace, labelSelector });
        const [key, value] = String(labelSelector).split('=');
        return {
          items: this.pods
            .filter(
              p =>
                p.metadata?.namespace === namespace &&
                p.metadata?.labels?.[key] === value,
            )
            .map(clone),
        };
      },
      readNamespacedPodLog: async ({
        name,
        namespace,
        container,
        tailLines,
      }: any) => {
        this.record({
          method: 'readPodLog',
          namespace,
          name,
          body: { container, tailLines },
        });
        const log = this.logs[name];
        if (log === undefined) throw apiError(404, `pods "${name}" not found`);
        return tailLines === undefined
          ? log
          : log
              .split('\n')
              .slice(-tailLines - 1)
              .join('\n');
      },
      listNamespacedEvent: async ({ namespace, fieldSelector }: any) => {
        this.record({ method: 'listEvents', namespace, fieldSelector });
        // the one field selector core uses: involvedObject.name=<name>
        const selected = /^involvedObject\.name=([^,]+)$/.exec(
          fieldSelector ?? '',
        )?.[1];
        if (fieldSelector && !selected)
          throw apiError(400, `unsupported field selector "${fieldSelector}"`);
        return {
          items: this.events
            .filter(e => e.metadata?.namespace === namespace)
            .filter(e => !selected || e.involvedObject?.name === selected)
            .map(clone),
        };
      },
    };
    const authz = {
      createSelfSubjectAccessReview: async ({ body }: any) => {
        this.record({ method: 'accessReview', body });
        const a = body.spec.resourceAttributes;
        const what = `${a.verb} ${a.resource}${a.subresource ? `/${a.subresource}` : ''}`;
        return {
          ...body,
          status: this.denied.has(what)
            ? { allowed: false, reason: 'RBAC: no rule' }
            : { allowed: true },
        };
      },
    };
    const coordination = {
      readNamespacedLease: async ({ name, namespace }: any) => {
        this.record({ method: 'readLease', namespace, name });
        return this.read('leases', namespace, name);
      },
      createNamespacedLease: async ({ namespace, body }: any) => {
        this.record({
          method: 'createLease',
          namespace,
          name: body.metadata.name,
          body: clone(body),
        });
        return this.create('leases', namespace, body);
      },
      // A replace with a stale resourceVersion is a 409, as on the API server.
      replaceNamespacedLease: async ({ name, namespace, body }: any) => {
        this.record({
          method: 'replaceLease',
          namespace,
          name,
          body: clone(body),
        });
        const current = this.read('leases', namespace, name);
        if (body.metadata.resourceVersion !== current.metadata.resourceVersion)
          throw apiError(409, `leases "${name}": the object has been modified`);
        const next = clone(body);
        next.metadata.uid = current.metadata.uid;
        next.metadata.resourceVersion = String(++this.versions);
        this.put('leases', next);
        return clone(next);
      },
    };
    return {
      kc: {},
      core,
      batch,
      coordination,
      authz,
      rbac: {},
    } as unknown as KubeClients;
  }
}
