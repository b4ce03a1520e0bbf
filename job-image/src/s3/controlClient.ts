/**
 * The AWS SDK's S3 client for the job's control calls (ListObjectVersions, RestoreObject,
 * GetObjectAttributes) and for credentials other than static keys, with the commands the job
 * sends. It is a bundle of its own, `control-client.cjs`, which the program loads at its first use
 * (loadControlClient.ts), so that a restore that never needs the SDK (a prefix, one key or a tar
 * archive restored with a Secret's keys: its listing, HEADs and bodies go on the lean path, signed
 * by sigv4.ts) neither compiles nor evaluates it. The commands are named re-exports, not the
 * package's namespace, so that this bundle leaves out those the job never sends.
 */
import http from 'node:http';
import https from 'node:https';
import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Throttle } from '../throttle';
import { proxyConfigured } from './proxy';

export {
  GetObjectAttributesCommand,
  ListObjectVersionsCommand,
  RestoreObjectCommand,
} from '@aws-sdk/client-s3';

export interface ControlClientOptions {
  region: string;
  endpoint?: string;
  pathStyle?: boolean;
  /** Connections kept by the client's agent. */
  maxSockets: number;
  /** PEM CAs replacing the system's. */
  ca?: Buffer;
  /** HTTP(S)_PROXY and NO_PROXY are read from here. */
  env: NodeJS.ProcessEnv;
  /** Idle socket timeout in ms. */
  socketTimeoutMs: number;
  /** Unsigned requests: no credentials looked for or sent. */
  anonymous: boolean;
  throttle?: Throttle;
  signal?: AbortSignal;
}

/** The client; `destroy()` closes it and its agent's sockets. */
export function createControlClient(options: ControlClientOptions): {
  client: S3Client;
  destroy(): void;
} {
  const agentOptions = {
    keepAlive: true,
    maxSockets: options.maxSockets,
    maxFreeSockets: options.maxSockets,
    scheduling: 'lifo' as const,
    // HTTP(S)_PROXY and NO_PROXY: Node's own proxy support (>= 24.5)
    ...(proxyConfigured(options.env) ? { proxyEnv: options.env } : {}),
  };
  const httpAgent = new http.Agent(agentOptions);
  const httpsAgent = new https.Agent({ ...agentOptions, ca: options.ca });
  const client = new S3Client({
    region: options.region,
    endpoint: options.endpoint,
    forcePathStyle: options.pathStyle,
    // Retries are ours (withRetry), so that every call backs off the same way.
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({
      httpAgent,
      httpsAgent,
      connectionTimeout: 30_000,
      requestTimeout: options.socketTimeoutMs,
    }),
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestChecksumCalculation: 'WHEN_REQUIRED',
    ...(options.anonymous
      ? {
          credentials: { accessKeyId: '', secretAccessKey: '' },
          signer: { sign: async (request: never) => request },
        }
      : {}),
  });
  const { throttle, signal } = options;
  if (throttle) throttleSdkCalls(client, throttle, signal);
  return {
    client,
    destroy() {
      client.destroy();
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}

/**
 * Every SDK call waits for a slot of the restore's throttle as the lean requests do, and reports
 * throttling to it before the slot is freed, so that S3's SlowDown slows the control calls too,
 * not only the bodies. The SDK makes one attempt (maxAttempts 1): the slot is held for that attempt
 * only; withRetry retries.
 */
function throttleSdkCalls(
  client: S3Client,
  throttle: Throttle,
  signal?: AbortSignal,
): void {
  client.middlewareStack.add(
    next => async args => {
      await throttle.acquire(signal);
      try {
        return await next(args);
      } catch (error) {
        throttle.reportIfThrottled(error);
        throw error;
      } finally {
        throttle.release();
      }
    },
    { step: 'initialize', name: 'kubeRestoreThrottle', priority: 'high' },
  );
}
