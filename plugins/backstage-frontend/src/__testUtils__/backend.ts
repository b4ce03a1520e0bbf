/**
 * A stand-in for the restore backend's HTTP API (msw), with fixtures shaped like its OpenAPI document, and
 * an event stream the test drives. The client under test is the real RestoreClient over fetch.
 */
import { Entity } from '@backstage/catalog-model';
import { DiscoveryApi, FetchApi } from '@backstage/core-plugin-api';
import { parseRestoreRequest, SourceSize } from '@kube-restore/common';
import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { RestoreClient } from '../api/RestoreClient';
import type { Restore, RestorePlan, RestoreSourceInfo } from '../api/types';

export const BASE_URL = 'http://backstage.test/api/restore';

export const discoveryApi: DiscoveryApi = {
  getBaseUrl: async pluginId => `http://backstage.test/api/${pluginId}`,
};

/** Like Backstage's fetchApi: global fetch (which msw patches) plus the user's token. */
export const fetchApi: FetchApi = {
  fetch: (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set('Authorization', 'Bearer user-token');
    return globalThis.fetch(input, { ...init, headers });
  },
};

export function createClient(): RestoreClient {
  return new RestoreClient({ discoveryApi, fetchApi });
}

export const server = setupServer();

export const entity: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: {
    name: 'shop',
    namespace: 'default',
    annotations: { 'backstage.io/kubernetes-namespace': 'team-a' },
  },
  spec: { type: 'service', owner: 'group:default/team-a', lifecycle: 'x' },
};
export const ENTITY_REF = 'component:default/shop';

export const sources: RestoreSourceInfo[] = [
  {
    name: 'nightly',
    title: 'Nightly backups',
    endpoint: 'http://minio.test:9000',
    region: 'us-east-1',
    bucket: 'backups',
    prefix: '${namespace}/${entity}/',
    archiveTiers: ['Bulk', 'Standard'],
  },
];

let sequence = 0;

/** A restore as the backend returns it; `overrides` win. */
export function restoreFixture(overrides: Partial<Restore> = {}): Restore {
  sequence += 1;
  const name =
    overrides.name ?? `restore-data-${String(sequence).padStart(8, '0')}`;
  return {
    id: `id-${sequence}`,
    entityRef: ENTITY_REF,
    cluster: 'prod',
    namespace: 'team-a',
    name,
    pvc: 'data',
    sourceName: 'nightly',
    source: 'http://minio.test:9000/backups/team-a/shop/',
    requester: 'user:default/alice',
    phase: 'Succeeded',
    createdAt: new Date(Date.UTC(2026, 10, 20, 10, sequence)).toISOString(),
    updatedAt: new Date(Date.UTC(2026, 10, 20, 10, sequence)).toISOString(),
    jobCreatedAt: new Date(Date.UTC(2026, 10, 20, 10, sequence)).toISOString(),
    ...overrides,
  };
}

export function sizeFixture(overrides: Partial<SourceSize> = {}): SourceSize {
  return {
    objects: 1200,
    bytes: 5 * 2 ** 30,
    diskBytes: 5.1 * 2 ** 30,
    recommendedSize: '6Gi',
    archived: {},
    archivedObjects: 0,
    archivedBytes: 0,
    thawCost: [],
    estimated: false,
    largestObjectBytes: 64 * 2 ** 20,
    ...overrides,
  };
}

export function planFixture(overrides: Partial<RestorePlan> = {}): RestorePlan {
  return {
    name: 'restore-data-1a2b3c4d',
    entityRef: ENTITY_REF,
    cluster: 'prod',
    namespace: 'team-a',
    source: 'http://minio.test:9000/backups/team-a/shop/',
    request: parseRestoreRequest({
      source: {
        endpoint: 'http://minio.test:9000',
        bucket: 'backups',
        prefix: 'team-a/shop/',
      },
      target: { namespace: 'team-a', pvc: 'data' },
    }),
    size: sizeFixture(),
    pvcSize: '6Gi',
    fits: true,
    pvc: { name: 'data', namespace: 'team-a', exists: false },
    problems: [],
    approval: { required: false, reasons: [] },
    quota: { ok: true, problems: [] },
    access: { allowed: true, checks: [] },
    ...overrides,
  };
}

/** The Backstage error envelope, as the backend's error handler writes it. */
export function errorResponse(status: number, name: string, message: string) {
  return HttpResponse.json(
    { error: { name, message }, response: { statusCode: status } },
    { status },
  );
}

/** An event stream the test writes to: `send('status', restore)`, then `end()` or `fail()`. */
export class TestEventStream {
  private controller?: ReadableStreamDefaultController<Uint8Array>;
  private readonly encoder = new TextEncoder();
  /** Requests that opened this stream, to check the client sent the user's token. */
  readonly requests: Request[] = [];

  response(request: Request): Response {
    this.requests.push(request);
    const stream = new ReadableStream<Uint8Array>({
      start: controller => {
        this.controller = controller;
      },
    });
    return new HttpResponse(stream, {
      headers: { 'Content-Type': 'text/event-stream' },
    });
  }

  get open(): boolean {
    return this.controller !== undefined;
  }

  send(event: string, data: unknown): void {
    this.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  write(text: string): void {
    if (!this.controller) throw new Error('the stream is not open');
    this.controller.enqueue(this.encoder.encode(text));
  }

  end(): void {
    this.send('end', {});
    this.close();
  }

  close(): void {
    this.controller?.close();
    this.controller = undefined;
  }
}

export { http, HttpResponse };
