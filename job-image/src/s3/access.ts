/**
 * How the job program talks to S3: lean signed requests on keepAliveHttp.ts's connections for
 * object bodies and HEADs (objectHead.ts) and ListObjectsV2 pages (listPage.ts), and the SDK for
 * the other control calls (ListObjectVersions, RestoreObject, GetObjectAttributes;
 * controlClient.ts, a bundle of its own loaded at the first one, loadControlClient.ts): the SDK
 * costs about 1 ms of CPU a call and takes longer to load than the rest of a small restore's
 * start. Credentials come only from the SDK's default chain; its first link, static keys in the
 * environment, is taken without loading the SDK's client.
 */
import { readFileSync } from 'node:fs';
import type { S3Client } from '@aws-sdk/client-s3';
import { fromEnv } from '@aws-sdk/credential-provider-env';
import type { RestoreSource } from '@kube-restore/common';
import { RestoreError } from '../errors';
import { FirstByteTimes } from '../inFlight';
import type { Throttle } from '../throttle';
import type * as ControlClientModule from './controlClient';
import type { ControlClientOptions } from './controlClient';
import { loadControlClient } from './loadControlClient';
import { AnswerDeadline } from './answerDeadline';
import {
  HttpResponse,
  isAnswerTimeout,
  KeepAliveHttpClient,
  recycleBodyChunks,
} from './keepAliveHttp';
import {
  CredentialCache,
  CredentialProvider,
  ExpiringCredentials,
} from './credentialCache';
import {
  ListObjectsV2Page,
  ListPageS3Error,
  parseListObjectsV2,
} from './listPage';
import { ObjectHead, parseObjectHead } from './objectHead';
import { Prefetched } from './prefetched';
import {
  headError,
  readErrorBody,
  s3ErrorFrom,
  S3HttpError,
  headStatusNeedsBody,
} from './errorResponse';
import { proxyFor } from './proxy';
import { Credentials, SigV4Signer, uriEncode } from './sigv4';

export type { HttpResponse } from './keepAliveHttp';
export { S3HttpError } from './errorResponse';

/** The SDK's client for control calls, and the commands it sends (controlClient.ts). */
export interface ControlCalls {
  client: S3Client;
  commands: typeof ControlClientModule;
}

export interface S3AccessOptions {
  source: RestoreSource;
  /** Connections kept for object bodies, and by the SDK's agent (the program's concurrency, ranged parts included). */
  maxSockets: number;
  env?: NodeJS.ProcessEnv;
  /** Idle socket timeout in ms (a stalled body counts as a NETWORK error). */
  socketTimeoutMs?: number;
  /** Gates when every request starts, lean and SDK ones alike (throttle.ts). */
  throttle?: Throttle;
  /** The restore's stop: ends waiting for the throttle. */
  signal?: AbortSignal;
  /** Unsigned requests (credentials type `anonymous`): no credentials are looked for or sent. */
  anonymous?: boolean;
}

export interface GetObjectRequest {
  key: string;
  versionId?: string;
  /** Inclusive byte range. */
  range?: [number, number];
  /** Ask for x-amz-checksum-* headers. */
  checksumMode?: boolean;
  /** One part of a multipart object (1-based): its bytes, or with HEAD its size. */
  partNumber?: number;
  ifMatch?: string;
  signal?: AbortSignal;
}

export interface ListObjectsV2Request {
  prefix?: string;
  continuationToken?: string;
  startAfter?: string;
  /** At most 1,000 (S3's cap). */
  maxKeys: number;
  signal?: AbortSignal;
}

export type HeadObjectRequest = Pick<
  GetObjectRequest,
  'key' | 'versionId' | 'checksumMode' | 'signal'
>;

/** Which page a request asks for (the signal aside). */
function listRequestKey(req: ListObjectsV2Request): string {
  return JSON.stringify([
    req.prefix,
    req.continuationToken,
    req.startAfter,
    req.maxKeys,
  ]);
}

/** Which object a HEAD asks about (the signal aside). */
function headRequestKey(req: HeadObjectRequest): string {
  return JSON.stringify([req.key, req.versionId, req.checksumMode ?? false]);
}

/** The most a ListObjectsV2 page may weigh: 1,000 keys of 1,024 bytes, escaped, with their fields. */
const MAX_LIST_PAGE_BYTES = 16 * 1024 * 1024;

/** Refuses malformed UTF-8 instead of replacing it. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

export class S3Access {
  readonly bucket: string;
  /** Times to first byte of successful lean requests (inFlight.ts sizes small downloads by them). */
  readonly firstByte = new FirstByteTimes();
  /** How long a request waits for an answer before it is tried again (answerDeadline.ts). */
  private readonly answerDeadline: AnswerDeadline;
  private readonly bodies: KeepAliveHttpClient;
  private readonly signer: SigV4Signer;
  private readonly anonymous: boolean;
  private readonly host: string;
  private readonly basePath: string;
  private readonly socketTimeoutMs: number;
  private readonly throttle: Throttle | undefined;
  private readonly creds: CredentialCache;
  private readonly controlOptions: ControlClientOptions;
  private control?: ControlCalls & { destroy(): void };
  private destroyed = false;
  private readonly prefetched = new Prefetched<{
    list: ListObjectsV2Page;
    head: ObjectHead;
  }>();

  constructor(options: S3AccessOptions) {
    const { source } = options;
    this.throttle = options.throttle;
    const env = options.env ?? process.env;
    this.bucket = source.bucket;
    this.socketTimeoutMs = options.socketTimeoutMs ?? 60_000;
    this.answerDeadline = new AnswerDeadline(
      this.socketTimeoutMs,
      this.firstByte,
    );
    const caPath = env.AWS_CA_BUNDLE;
    let ca: Buffer | undefined;
    if (caPath) {
      try {
        ca = readFileSync(caPath);
      } catch (error) {
        throw new RestoreError(
          'INVALID_REQUEST',
          `cannot read the CA bundle at ${caPath}: ${(error as Error).message}`,
        );
      }
    }

    const region = source.region || env.AWS_REGION || 'us-east-1';
    let url: URL;
    if (source.endpoint) {
      url = new URL(source.endpoint);
    } else {
      url = new URL(`https://s3.${region}.amazonaws.com`);
    }
    const protocol = url.protocol === 'http:' ? 'http:' : 'https:';
    const defaultPort = protocol === 'http:' ? 80 : 443;
    const pathStyle = source.pathStyle || source.bucket.includes('.');
    const hostname = url.hostname.replace(/^\[|\]$/g, '');
    const port = url.port ? Number(url.port) : defaultPort;
    let proxy: URL | undefined;
    try {
      proxy = proxyFor({ protocol, hostname, port }, env);
    } catch (error) {
      throw new RestoreError('INVALID_REQUEST', (error as Error).message);
    }
    this.bodies = new KeepAliveHttpClient({
      protocol,
      hostname,
      port,
      maxSockets: options.maxSockets,
      timeoutMs: this.socketTimeoutMs,
      ca,
      proxy,
    });
    this.host = pathStyle ? url.host : `${source.bucket}.${url.host}`;
    const base = url.pathname.replace(/\/+$/, '');
    this.basePath = pathStyle ? `${base}/${uriEncode(source.bucket)}` : base;
    this.signer = new SigV4Signer(region);
    this.anonymous = options.anonymous ?? false;
    this.controlOptions = {
      region,
      endpoint: source.endpoint,
      pathStyle: source.pathStyle,
      maxSockets: options.maxSockets,
      ca,
      env,
      socketTimeoutMs: this.socketTimeoutMs,
      anonymous: this.anonymous,
      throttle: options.throttle,
      signal: options.signal,
    };
    this.creds = new CredentialCache(opts => this.chainCredentials(opts));
  }

  /** The SDK's client for control calls and its commands, loaded and set up at the first call. */
  controlCalls(): ControlCalls {
    if (this.destroyed)
      throw new RestoreError('INTERNAL', 'the S3 access was already closed');
    if (!this.control) {
      let commands: typeof ControlClientModule;
      try {
        commands = loadControlClient();
      } catch (error) {
        throw new RestoreError(
          'INTERNAL',
          `cannot load the AWS SDK's control client: ${(error as Error).message}`,
          { cause: error },
        );
      }
      this.control = {
        ...commands.createControlClient(this.controlOptions),
        commands,
      };
    }
    return this.control;
  }

  /**
   * The SDK default chain's credentials. Its first link, static keys in the environment (when no
   * AWS_PROFILE makes the chain skip them), is the SDK's own fromEnv, without the S3 client;
   * any other source goes through the client's chain, set up as for the control calls (region,
   * CA bundle, proxy) for the STS or container endpoint it may call.
   */
  private async chainCredentials(opts?: {
    forceRefresh?: boolean;
  }): Promise<ExpiringCredentials> {
    const env = process.env;
    if (
      env.AWS_ACCESS_KEY_ID &&
      env.AWS_SECRET_ACCESS_KEY &&
      !env.AWS_PROFILE
    ) {
      return fromEnv()();
    }
    const { client } = this.controlCalls();
    return (client.config.credentials as CredentialProvider)(opts);
  }

  /** The credentials to sign with (cached, renewed before they expire). */
  credentials(): Promise<Credentials> {
    return this.creds.get().catch(error => {
      if (error instanceof RestoreError) throw error;
      throw new RestoreError(
        'INVALID_CREDENTIALS',
        `no usable credentials in the AWS SDK default chain (${(error as Error).name}: ${(error as Error).message})`,
        { cause: error },
      );
    });
  }

  /** After an ExpiredToken: new credentials now, if they come from a refreshable source. */
  refreshCredentials(): Promise<boolean> {
    return this.creds.refresh();
  }

  /**
   * A signed GET (or HEAD) of one object on a keep-alive connection. Resolves with the response
   * once its head arrived and the status is 2xx; S3 errors reject as S3HttpError.
   */
  async request(
    method: 'GET' | 'HEAD',
    req: GetObjectRequest,
  ): Promise<HttpResponse> {
    const path = `${this.basePath}/${uriEncode(req.key, true)}`;
    const query: Record<string, string> = {};
    if (req.versionId) query.versionId = req.versionId;
    if (req.partNumber !== undefined) query.partNumber = String(req.partNumber);
    const extra: Record<string, string> = {};
    if (req.range) extra.range = `bytes=${req.range[0]}-${req.range[1]}`;
    if (req.checksumMode) extra['x-amz-checksum-mode'] = 'ENABLED';
    if (req.ifMatch) extra['if-match'] = req.ifMatch;
    return this.send(method, path, query, extra, req.signal, true);
  }

  /**
   * Sends a listing's first page now, while the restore still sets up its volume: the
   * listObjectsV2 call with the same request takes its result (prefetched.ts).
   */
  prefetchListObjectsV2(req: ListObjectsV2Request): void {
    this.prefetched.put('list', listRequestKey(req), this.fetchListPage(req));
  }

  /**
   * One page of ListObjectsV2 (the query the SDK sends, with encoding-type=url so that keys come
   * back byte-exact), read whole and parsed by listPage.ts. Errors, throttling and credentials as
   * for object bodies.
   */
  listObjectsV2(req: ListObjectsV2Request): Promise<ListObjectsV2Page> {
    return (
      this.prefetched.take('list', listRequestKey(req)) ??
      this.fetchListPage(req)
    );
  }

  /** Opens `count` more connections for object requests once one is up (keepAliveHttp.ts). */
  preconnect(count: number): void {
    this.bodies.preconnect(count);
  }

  /** Sends a HEAD now, for the headObject call with the same request (as prefetchListObjectsV2). */
  prefetchHeadObject(req: HeadObjectRequest): void {
    this.prefetched.put('head', headRequestKey(req), this.fetchHead(req));
  }

  /**
   * A HEAD of one object on the lean path, its headers validated (objectHead.ts). A missing object
   * is NoSuchKey and a refused HEAD AccessDenied, each naming the key: a HEAD's error has no body.
   */
  headObject(req: HeadObjectRequest): Promise<ObjectHead> {
    return (
      this.prefetched.take('head', headRequestKey(req)) ?? this.fetchHead(req)
    );
  }

  private async fetchHead(req: HeadObjectRequest): Promise<ObjectHead> {
    let res: HttpResponse;
    try {
      res = await this.request('HEAD', req);
    } catch (error) {
      throw headError(error, req, this.bucket);
    }
    res.resume();
    return parseObjectHead(req.key, res.headers);
  }

  private async fetchListPage(
    req: ListObjectsV2Request,
  ): Promise<ListObjectsV2Page> {
    const query: Record<string, string> = {
      'list-type': '2',
      'max-keys': String(req.maxKeys),
      'encoding-type': 'url',
    };
    if (req.prefix) query.prefix = req.prefix;
    if (req.continuationToken)
      query['continuation-token'] = req.continuationToken;
    if (req.startAfter) query['start-after'] = req.startAfter;
    const res = await this.send(
      'GET',
      this.basePath || '/',
      query,
      {},
      req.signal,
      false,
    );
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res) {
      size += chunk.length;
      if (size > MAX_LIST_PAGE_BYTES) {
        res.destroy();
        throw new RestoreError(
          'SERVER_ERROR',
          `a ListObjectsV2 page of more than ${MAX_LIST_PAGE_BYTES} bytes`,
        );
      }
      chunks.push(chunk);
    }
    let xml: string;
    try {
      xml = UTF8.decode(Buffer.concat(chunks, size));
    } catch {
      throw new RestoreError(
        'SERVER_ERROR',
        'the ListObjectsV2 response is not valid UTF-8',
      );
    } finally {
      recycleBodyChunks(chunks);
    }
    try {
      return parseListObjectsV2(xml, req.maxKeys);
    } catch (error) {
      // An <Error> document sent with a 2xx status: that S3 error, as the SDK raised it.
      if (error instanceof ListPageS3Error)
        throw new S3HttpError(error.code, res.statusCode, error.s3Message);
      throw error;
    }
  }

  /** A signed (or, anonymous, unsigned) bodiless request; 2xx resolves, S3 errors reject. */
  private async send(
    method: 'GET' | 'HEAD',
    path: string,
    query: Record<string, string>,
    extra: Record<string, string>,
    signal: AbortSignal | undefined,
    /** Record its time to first byte (object requests; a listing is slower by nature). */
    timed: boolean,
  ): Promise<HttpResponse> {
    const headers = this.anonymous
      ? { ...extra, host: this.host }
      : this.signer.sign(
          { method, host: this.host, path, query, headers: extra },
          await this.credentials(),
        );
    const search = Object.keys(query)
      .sort()
      .map(name => `${name}=${uriEncode(query[name])}`)
      .join('&');
    await this.throttle?.acquire(signal);
    try {
      const sent = performance.now();
      const res = await this.bodies
        .request({
          method,
          path: search ? `${path}?${search}` : path,
          headers,
          signal,
          answerWithinMs: this.answerDeadline.ms,
        })
        .catch((error: unknown) => {
          if (isAnswerTimeout(error)) this.answerDeadline.missed();
          throw error;
        });
      const status = res.statusCode;
      if (status >= 200 && status < 300) {
        if (timed) this.firstByte.record(performance.now() - sent);
        return res;
      }
      let error = s3ErrorFrom(status, await readErrorBody(res), res.headers);
      // (a part's HEAD cannot be asked again as a GET: S3 refuses Range with partNumber)
      if (
        method === 'HEAD' &&
        headStatusNeedsBody(status) &&
        query.partNumber === undefined
      )
        error =
          (await this.errorOfGet(
            path,
            query,
            extra,
            signal,
            search,
            status,
          ).catch((getError: unknown) => {
            if (signal?.aborted) throw getError;
            return undefined;
          })) ?? error;
      this.throttle?.reportIfThrottled(error);
      throw error;
    } finally {
      this.throttle?.release();
    }
  }

  /**
   * The S3 error a one-byte GET of the same object gets, for a HEAD refused with a status whose
   * reason only an error body tells: a 400 may be ExpiredToken (new credentials, then again) or a
   * region the credentials are not signed for, a 301 another region's endpoint. Undefined when the
   * GET is not refused with the same status (its answer then says nothing about the HEAD's) or
   * cannot be sent: the HEAD's own error stands.
   */
  private async errorOfGet(
    path: string,
    query: Record<string, string>,
    extra: Record<string, string>,
    signal: AbortSignal | undefined,
    search: string,
    status: number,
  ): Promise<S3HttpError | undefined> {
    const headers: Record<string, string> = { ...extra, range: 'bytes=0-0' };
    delete headers['x-amz-checksum-mode'];
    const signed = this.anonymous
      ? { ...headers, host: this.host }
      : this.signer.sign(
          { method: 'GET', host: this.host, path, query, headers },
          await this.credentials(),
        );
    const res = await this.bodies.request({
      method: 'GET',
      path: search ? `${path}?${search}` : path,
      headers: signed,
      signal,
    });
    if (res.statusCode !== status) {
      res.destroy();
      return undefined;
    }
    const body = await readErrorBody(res);
    if (!/<Code>/.test(body)) return undefined;
    return s3ErrorFrom(res.statusCode, body, res.headers);
  }

  getObject(req: GetObjectRequest): Promise<HttpResponse> {
    return this.request('GET', req);
  }

  destroy(): void {
    this.destroyed = true;
    this.control?.destroy();
    this.bodies.destroy();
  }
}
