/**
 * Short-lived credentials on loopback, as EKS Pod Identity and IRSA hand them out: a container
 * credentials endpoint (`AWS_CONTAINER_CREDENTIALS_FULL_URI`, checking the token the SDK reads from
 * `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`) and an STS endpoint for AssumeRoleWithWebIdentity
 * (`AWS_ENDPOINT_URL_STS`, checking the web identity token). Each answer is a fresh set of real
 * MinIO session credentials (MinIO's own STS AssumeRole) announced to expire after `lifetimeMs`;
 * `expired(accessKeyId)` says whether a key is past the moment the server stops honouring it
 * (`honourMs` after issue, the announced lifetime unless set shorter), for the fault proxy to answer
 * ExpiredToken as S3 would.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SigV4Signer } from '../s3/sigv4';
import type { MinioServer } from './minio';

interface Issued {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
  honouredUntil: number;
}

/** A MinIO session key pair from its STS AssumeRole, signed with the root credentials. */
async function assumeRole(
  minio: MinioServer,
): Promise<Omit<Issued, 'expiration' | 'honouredUntil'>> {
  const url = new URL(minio.endpoint);
  // MinIO takes STS calls as a form body only (no query string)
  const form = new URLSearchParams({
    Action: 'AssumeRole',
    Version: '2011-06-15',
    DurationSeconds: '900',
  }).toString();
  const headers = new SigV4Signer('us-east-1', 'sts').sign(
    {
      method: 'POST',
      host: url.host,
      path: '/',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payloadHash: createHash('sha256').update(form).digest('hex'),
    },
    { accessKeyId: minio.accessKey, secretAccessKey: minio.secretKey },
  );
  const res = await fetch(`${minio.endpoint}/`, {
    method: 'POST',
    headers,
    body: form,
  });
  const xml = await res.text();
  const field = (name: string) => {
    const v = new RegExp(`<${name}>([^<]+)</${name}>`).exec(xml)?.[1];
    if (!v) throw new Error(`MinIO AssumeRole answered ${res.status}: ${xml}`);
    return v;
  };
  return {
    accessKeyId: field('AccessKeyId'),
    secretAccessKey: field('SecretAccessKey'),
    sessionToken: field('SessionToken'),
  };
}

export class CredentialServer {
  readonly issued: Issued[] = [];
  /** Requests refused for a wrong or missing token. */
  refused = 0;
  private readonly server: http.Server;
  port = 0;

  constructor(
    private readonly minio: MinioServer,
    private readonly options: {
      lifetimeMs: number;
      honourMs?: number;
      /** What the Authorization header (container) or WebIdentityToken (STS) must be. */
      token: () => string;
    },
  ) {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch(error => {
        res.writeHead(500).end(String(error));
      });
    });
  }

  static async start(
    minio: MinioServer,
    options: CredentialServer['options'],
  ): Promise<CredentialServer> {
    const s = new CredentialServer(minio, options);
    await new Promise<void>(resolve =>
      s.server.listen(0, '127.0.0.1', resolve),
    );
    s.port = (s.server.address() as AddressInfo).port;
    return s;
  }

  get containerUri(): string {
    return `http://127.0.0.1:${this.port}/v1/credentials`;
  }

  get stsEndpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  expired(accessKeyId: string, now = Date.now()): boolean {
    const issued = this.issued.find(i => i.accessKeyId === accessKeyId);
    return issued !== undefined && now >= issued.honouredUntil;
  }

  private async issue(): Promise<Issued> {
    const keys = await assumeRole(this.minio);
    const now = Date.now();
    const issued = {
      ...keys,
      expiration: new Date(now + this.options.lifetimeMs),
      honouredUntil: now + (this.options.honourMs ?? this.options.lifetimeMs),
    };
    this.issued.push(issued);
    return issued;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse) {
    let body = '';
    for await (const chunk of req) body += chunk;
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'GET' && url.pathname === '/v1/credentials') {
      if (req.headers.authorization !== this.options.token()) {
        this.refused++;
        res.writeHead(401).end('{"message":"bad token"}');
        return;
      }
      const c = await this.issue();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          AccessKeyId: c.accessKeyId,
          SecretAccessKey: c.secretAccessKey,
          Token: c.sessionToken,
          Expiration: c.expiration.toISOString(),
        }),
      );
      return;
    }
    const form = new URLSearchParams(body || url.search);
    if (form.get('Action') === 'AssumeRoleWithWebIdentity') {
      if (form.get('WebIdentityToken') !== this.options.token()) {
        this.refused++;
        res.writeHead(400, { 'content-type': 'text/xml' });
        res.end(
          '<ErrorResponse><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code><Message>bad token</Message></Error></ErrorResponse>',
        );
        return;
      }
      const c = await this.issue();
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(
        `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>${c.accessKeyId}</AccessKeyId><SecretAccessKey>${c.secretAccessKey}</SecretAccessKey><SessionToken>${c.sessionToken}</SessionToken><Expiration>${c.expiration.toISOString()}</Expiration></Credentials><SubjectFromWebIdentityToken>system:serviceaccount:team-a:restore</SubjectFromWebIdentityToken><AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/kr/restore</Arn><AssumedRoleId>AROAKR:restore</AssumedRoleId></AssumedRoleUser></AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>kr</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>`,
      );
      return;
    }
    res.writeHead(404).end('unknown');
  }

  close(): Promise<void> {
    return new Promise(resolve => this.server.close(() => resolve()));
  }
}
