/*
 * A small Kubernetes REST client over node:https, for the harness itself (bootstrap objects and the
 * local kubelet). Tests and product code use @kubernetes/client-node; the harness keeps its own few
 * calls here so that it has no ESM-only dependency and can be bundled into a plain script.
 */
import * as https from 'node:https';
import { URL } from 'node:url';

export interface KubeCredentials {
  server: string;
  ca: string;
  cert?: string;
  key?: string;
  token?: string;
}

export class KubeApiError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly statusCode: number,
    readonly body: any,
  ) {
    super(`${method} ${path}: HTTP ${statusCode}${KubeApiError.detail(body)}`);
    this.name = 'KubeApiError';
  }
  private static detail(body: any): string {
    if (body?.message) return `: ${body.message}`;
    if (typeof body === 'string' && body) return `: ${body.slice(0, 500)}`;
    return '';
  }
  get reason(): string | undefined {
    return this.body?.reason;
  }
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  contentType?: string;
  /** Return the raw body text instead of parsed JSON. */
  raw?: boolean;
  timeoutMs?: number;
}

export type WatchEvent = {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: any;
};

function buildPath(path: string, query?: RequestOptions['query']): string {
  if (!query) return path;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query))
    if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}${path.includes('?') ? '&' : '?'}${s}` : path;
}

export class KubeClient {
  private readonly agent: https.Agent;
  private readonly url: URL;

  constructor(readonly creds: KubeCredentials) {
    this.url = new URL(creds.server);
    this.agent = new https.Agent({
      keepAlive: true,
      maxSockets: 32,
      ca: creds.ca,
      cert: creds.cert,
      key: creds.key,
    });
  }

  close(): void {
    this.agent.destroy();
  }

  private headers(contentType?: string): Record<string, string> {
    const h: Record<string, string> = { Accept: 'application/json' };
    if (contentType) h['Content-Type'] = contentType;
    if (this.creds.token) h.Authorization = `Bearer ${this.creds.token}`;
    return h;
  }

  request<T = any>(
    method: string,
    path: string,
    body?: unknown,
    opts: RequestOptions = {},
  ): Promise<T> {
    const fullPath = buildPath(path, opts.query);
    let payload: string | undefined;
    if (typeof body === 'string') payload = body;
    else if (body !== undefined) payload = JSON.stringify(body);
    return new Promise<T>((resolve, reject) => {
      const req = https.request(
        {
          host: this.url.hostname,
          port: this.url.port,
          method,
          path: fullPath,
          agent: this.agent,
          headers: {
            ...this.headers(
              payload === undefined
                ? undefined
                : (opts.contentType ?? 'application/json'),
            ),
            // always frame the body: Node does not chunk DELETE bodies by default
            ...(payload === undefined
              ? {}
              : { 'Content-Length': String(Buffer.byteLength(payload)) }),
          },
          timeout: opts.timeoutMs ?? 30_000,
        },
        res => {
          const chunks: Buffer[] = [];
          res.on('data', c => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            let parsed: any = text;
            if (!opts.raw || status >= 300) {
              try {
                parsed = text ? JSON.parse(text) : undefined;
              } catch {
                parsed = text;
              }
            }
            if (status >= 300)
              reject(new KubeApiError(method, fullPath, status, parsed));
            else resolve(parsed as T);
          });
        },
      );
      req.on('timeout', () =>
        req.destroy(new Error(`${method} ${fullPath}: timed out`)),
      );
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  get<T = any>(path: string, opts?: RequestOptions) {
    return this.request<T>('GET', path, undefined, opts);
  }
  post<T = any>(path: string, body: unknown, opts?: RequestOptions) {
    return this.request<T>('POST', path, body, opts);
  }
  put<T = any>(path: string, body: unknown, opts?: RequestOptions) {
    return this.request<T>('PUT', path, body, opts);
  }
  delete<T = any>(path: string, body?: unknown, opts?: RequestOptions) {
    return this.request<T>('DELETE', path, body, opts);
  }
  patch<T = any>(
    path: string,
    body: unknown,
    type: 'merge' | 'strategic' | 'json' = 'strategic',
    opts?: RequestOptions,
  ) {
    const contentType = {
      merge: 'application/merge-patch+json',
      json: 'application/json-patch+json',
      strategic: 'application/strategic-merge-patch+json',
    }[type];
    return this.request<T>('PATCH', path, body, { ...opts, contentType });
  }

  /** POST, treating 409 AlreadyExists as success (returns undefined then). */
  async ensure(path: string, body: any): Promise<any> {
    try {
      return await this.post(path, body);
    } catch (e) {
      if (e instanceof KubeApiError && e.statusCode === 409) return undefined;
      throw e;
    }
  }

  /**
   * One watch request. Resolves when the server closes the stream; rejects on connection errors.
   * `signal` aborts it.
   */
  watchOnce(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    onEvent: (e: WatchEvent) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const fullPath = buildPath(path, {
      ...query,
      watch: true,
      allowWatchBookmarks: true,
    });
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) {
        resolve();
        return;
      }
      const req = https.request(
        {
          host: this.url.hostname,
          port: this.url.port,
          method: 'GET',
          path: fullPath,
          agent: this.agent,
          headers: this.headers(),
        },
        res => {
          if ((res.statusCode ?? 0) >= 300) {
            const chunks: Buffer[] = [];
            res.on('data', c => chunks.push(c));
            res.on('end', () => {
              let b: any = Buffer.concat(chunks).toString();
              try {
                b = JSON.parse(b);
              } catch {
                /* text */
              }
              reject(
                new KubeApiError('WATCH', fullPath, res.statusCode ?? 0, b),
              );
            });
            return;
          }
          let buf = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            buf += chunk;
            for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
              const line = buf.slice(0, i).trim();
              buf = buf.slice(i + 1);
              if (!line) continue;
              try {
                onEvent(JSON.parse(line));
              } catch (err) {
                req.destroy(err as Error);
              }
            }
          });
          res.on('end', () => resolve());
          res.on('error', () => resolve());
          res.on('aborted', () => resolve());
        },
      );
      const onAbort = () => {
        req.destroy();
        resolve();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      req.on('close', () => signal.removeEventListener('abort', onAbort));
      req.on('error', err => (signal.aborted ? resolve() : reject(err)));
      req.end();
    });
  }
}

/**
 * A list+watch loop ("informer") for one collection path: calls onEvent for every object (a list
 * is replayed as ADDED/MODIFIED, objects gone across a relist as DELETED), re-watches from the last
 * resourceVersion, relists on 410 Gone or errors. Survives apiserver restarts.
 */
export class Informer {
  private readonly abort = new AbortController();
  private readonly known = new Map<string, any>();
  private running?: Promise<void>;
  private rv?: string;
  synced = false;
  private syncWaiters: (() => void)[] = [];

  constructor(
    private readonly client: KubeClient,
    private readonly path: string,
    private readonly onEvent: (
      type: 'ADDED' | 'MODIFIED' | 'DELETED',
      obj: any,
    ) => void,
    private readonly log: (msg: string) => void = () => {},
  ) {}

  start(): void {
    this.running = this.loop();
  }

  waitForSync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise(r => this.syncWaiters.push(r));
  }

  list(): any[] {
    return [...this.known.values()];
  }

  get(uid: string): any | undefined {
    return this.known.get(uid);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running?.catch(() => {});
  }

  private emit(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: any) {
    try {
      this.onEvent(type, obj);
    } catch (e) {
      this.log(
        `informer ${this.path}: handler failed: ${(e as Error).stack ?? e}`,
      );
    }
  }

  private async loop(): Promise<void> {
    const signal = this.abort.signal;
    let failures = 0;
    while (!signal.aborted) {
      try {
        if (!this.rv) {
          const list = await this.client.get(this.path);
          const seen = new Set<string>();
          for (const item of list.items ?? []) {
            const uid = item.metadata.uid;
            seen.add(uid);
            const had = this.known.has(uid);
            this.known.set(uid, item);
            this.emit(had ? 'MODIFIED' : 'ADDED', item);
          }
          for (const [uid, obj] of [...this.known]) {
            if (!seen.has(uid)) {
              this.known.delete(uid);
              this.emit('DELETED', obj);
            }
          }
          this.rv = list.metadata.resourceVersion;
          if (!this.synced) {
            this.synced = true;
            this.syncWaiters.splice(0).forEach(r => r());
          }
        }
        let gone = false;
        await this.client.watchOnce(
          this.path,
          { resourceVersion: this.rv, timeoutSeconds: 300 },
          ev => {
            if (ev.type === 'ERROR') {
              if (ev.object?.code === 410) gone = true;
              else
                this.log(
                  `informer ${this.path}: watch error ${JSON.stringify(ev.object)}`,
                );
              return;
            }
            this.rv = ev.object?.metadata?.resourceVersion ?? this.rv;
            if (ev.type === 'BOOKMARK') return;
            const uid = ev.object.metadata.uid;
            if (ev.type === 'DELETED') this.known.delete(uid);
            else this.known.set(uid, ev.object);
            this.emit(ev.type, ev.object);
          },
          signal,
        );
        if (gone) this.rv = undefined;
        failures = 0;
      } catch (e) {
        if (signal.aborted) break;
        if (e instanceof KubeApiError && e.statusCode === 410) {
          this.rv = undefined;
          continue;
        }
        failures++;
        this.rv = undefined;
        if (failures === 1 || failures % 20 === 0)
          this.log(`informer ${this.path}: ${(e as Error).message}; retrying`);
        const delay = Math.min(250 * failures, 2000);
        await new Promise(r => setTimeout(r, delay));
      }
    }
  }
}
