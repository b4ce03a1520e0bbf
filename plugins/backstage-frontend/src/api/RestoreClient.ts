import { DiscoveryApi, FetchApi } from '@backstage/core-plugin-api';
import { ResponseError } from '@backstage/errors';
import { RestoreApi } from './RestoreApi';
import { readEventStream } from './eventStream';
import type {
  CreatedRestore,
  ListRestoresQuery,
  Restore,
  RestoreBody,
  RestorePlan,
  RestoreSourceInfo,
  WatchRestoreOptions,
} from './types';

/** The restore backend's event stream ended with `event: error`, or broke off before `event: end`. */
export class RestoreStreamError extends Error {
  name = 'RestoreStreamError';
}

/** Talks to the restore backend plugin (`/api/restore`) through Backstage's fetchApi, so the user's token goes along. */
export class RestoreClient implements RestoreApi {
  private readonly discoveryApi: DiscoveryApi;
  private readonly fetchApi: FetchApi;

  constructor(options: { discoveryApi: DiscoveryApi; fetchApi: FetchApi }) {
    this.discoveryApi = options.discoveryApi;
    this.fetchApi = options.fetchApi;
  }

  async listSources(): Promise<RestoreSourceInfo[]> {
    const { items } = await this.request<{ items: RestoreSourceInfo[] }>(
      '/sources',
    );
    return items;
  }

  async listRestores(query: ListRestoresQuery = {}): Promise<Restore[]> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) params.set(key, String(value));
    }
    const search = params.toString();
    const { items } = await this.request<{ items: Restore[] }>(
      `/restores${search ? `?${search}` : ''}`,
    );
    return items;
  }

  getRestore(id: string): Promise<Restore> {
    return this.request<Restore>(`/restores/${encodeURIComponent(id)}`);
  }

  planRestore(body: RestoreBody): Promise<RestorePlan> {
    return this.request<RestorePlan>('/plan', { method: 'POST', body });
  }

  async createRestore(body: RestoreBody): Promise<CreatedRestore> {
    const response = await this.send('/restores', { method: 'POST', body });
    const restore = (await response.json()) as Restore;
    let outcome: CreatedRestore['outcome'] = 'existing';
    if (response.status === 202) outcome = 'pendingApproval';
    else if (response.status === 201) outcome = 'created';
    return { restore, outcome };
  }

  deleteRestore(
    id: string,
    options: { deletePvc?: boolean } = {},
  ): Promise<Restore> {
    const query = options.deletePvc ? '?deletePvc=true' : '';
    return this.request<Restore>(
      `/restores/${encodeURIComponent(id)}${query}`,
      { method: 'DELETE' },
    );
  }

  approveRestore(id: string, comment?: string): Promise<Restore> {
    return this.request<Restore>(
      `/restores/${encodeURIComponent(id)}/approve`,
      { method: 'POST', body: comment ? { comment } : {} },
    );
  }

  rejectRestore(id: string, comment?: string): Promise<Restore> {
    return this.request<Restore>(`/restores/${encodeURIComponent(id)}/reject`, {
      method: 'POST',
      body: comment ? { comment } : {},
    });
  }

  getLogs(id: string, tailLines?: number) {
    const query = tailLines ? `?tailLines=${tailLines}` : '';
    return this.request<{ pod: string; log: string }>(
      `/restores/${encodeURIComponent(id)}/logs${query}`,
    );
  }

  async watchRestore(id: string, options: WatchRestoreOptions): Promise<void> {
    const { onUpdate, signal } = options;
    let response: Response;
    try {
      response = await this.send(`/restores/${encodeURIComponent(id)}/events`, {
        headers: { Accept: 'text/event-stream' },
        signal,
      });
    } catch (error) {
      if (signal?.aborted) return;
      throw error;
    }
    if (!response.body) {
      throw new RestoreStreamError('the event stream has no body');
    }
    let ended = false;
    let failure: Error | undefined;
    try {
      await readEventStream(
        response.body,
        event => {
          if (event.event === 'status') {
            onUpdate(JSON.parse(event.data) as Restore);
          } else if (event.event === 'end') {
            ended = true;
          } else if (event.event === 'error') {
            const data = JSON.parse(event.data) as {
              error?: { message?: string };
            };
            failure = new RestoreStreamError(
              data.error?.message ?? 'the event stream failed',
            );
          }
        },
        signal,
      );
    } catch (error) {
      if (signal?.aborted) return;
      throw error;
    }
    if (failure) throw failure;
    if (!ended && !signal?.aborted) {
      throw new RestoreStreamError(
        'the event stream ended before the restore finished',
      );
    }
  }

  private async send(
    path: string,
    init: {
      method?: string;
      body?: unknown;
      headers?: Record<string, string>;
      signal?: AbortSignal;
    } = {},
  ): Promise<Response> {
    const baseUrl = await this.discoveryApi.getBaseUrl('restore');
    const headers: Record<string, string> = { ...init.headers };
    if (init.body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await this.fetchApi.fetch(`${baseUrl}${path}`, {
      method: init.method ?? 'GET',
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: init.signal,
    });
    if (!response.ok) throw await ResponseError.fromResponse(response);
    return response;
  }

  private async request<T>(
    path: string,
    init?: { method?: string; body?: unknown },
  ): Promise<T> {
    const response = await this.send(path, init);
    return (await response.json()) as T;
  }
}
