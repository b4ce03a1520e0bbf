/*
 * A throw-away PKI for one cluster: a CA and the certificates the servers and identities need,
 * made with the openssl CLI (Node has no API to create X.509 certificates). EC P-256 keys: fast.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CertSpec {
  /** file base name: <name>.crt / <name>.key */
  name: string;
  cn: string;
  groups?: string[];
  /** DNS names and IPs for a serving certificate. */
  dns?: string[];
  ips?: string[];
  usage: 'client' | 'server' | 'both';
}

export interface IssuedCert {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

export async function checkOpenssl(): Promise<void> {
  try {
    await run('openssl', ['version']);
  } catch (e) {
    throw new Error(
      `the openssl CLI is required to create the test cluster's certificates and was not found or failed: ${(e as Error).message}`,
    );
  }
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd });
  } catch (e: any) {
    throw new Error(
      `openssl ${args.join(' ')} failed: ${e.stderr || e.message}`,
    );
  }
}

export class Pki {
  readonly caFile: string;
  readonly caKeyFile: string;
  ca = '';

  constructor(readonly dir: string) {
    this.caFile = path.join(dir, 'ca.crt');
    this.caKeyFile = path.join(dir, 'ca.key');
  }

  async init(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    await fs.writeFile(
      path.join(this.dir, 'ca.cnf'),
      [
        '[req]',
        'distinguished_name=dn',
        'x509_extensions=v3',
        'prompt=no',
        '[dn]',
        'CN=kube-restore-test-ca',
        '[v3]',
        'basicConstraints=critical,CA:TRUE',
        'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
        'subjectKeyIdentifier=hash',
        '',
      ].join('\n'),
    );
    await openssl(
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        'ca.key',
        '-out',
        'ca.crt',
        '-days',
        '3650',
        '-config',
        'ca.cnf',
      ],
      this.dir,
    );
    this.ca = await fs.readFile(this.caFile, 'utf8');
  }

  async issue(spec: CertSpec): Promise<IssuedCert> {
    const { name } = spec;
    const subj = [
      ...(spec.groups ?? []).map(g => `/O=${g}`),
      `/CN=${spec.cn}`,
    ].join('');
    const eku = {
      client: 'clientAuth',
      server: 'serverAuth',
      both: 'clientAuth,serverAuth',
    }[spec.usage];
    const sans = [
      ...(spec.dns ?? []).map(d => `DNS:${d}`),
      ...(spec.ips ?? []).map(i => `IP:${i}`),
    ];
    const ext = [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      `extendedKeyUsage=${eku}`,
      'authorityKeyIdentifier=keyid',
      ...(sans.length ? [`subjectAltName=${sans.join(',')}`] : []),
      '',
    ].join('\n');
    await fs.writeFile(path.join(this.dir, `${name}.ext`), ext);
    await openssl(
      [
        'req',
        '-new',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.csr`,
        '-subj',
        subj,
      ],
      this.dir,
    );
    const serial = `0x${Date.now().toString(16)}${Math.floor(Math.random() * 0xffffff).toString(16)}`;
    await openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-set_serial',
        serial,
        '-days',
        '825',
        '-out',
        `${name}.crt`,
        '-extfile',
        `${name}.ext`,
      ],
      this.dir,
    );
    const certFile = path.join(this.dir, `${name}.crt`);
    const keyFile = path.join(this.dir, `${name}.key`);
    return {
      certFile,
      keyFile,
      cert: await fs.readFile(certFile, 'utf8'),
      key: await fs.readFile(keyFile, 'utf8'),
    };
  }

  /** An EC key pair for signing service account tokens. */
  async serviceAccountKey(): Promise<{ keyFile: string; pubFile: string }> {
    await openssl(
      [
        'genpkey',
        '-algorithm',
        'EC',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-out',
        'sa.key',
      ],
      this.dir,
    );
    await openssl(
      ['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'],
      this.dir,
    );
    return {
      keyFile: path.join(this.dir, 'sa.key'),
      pubFile: path.join(this.dir, 'sa.pub'),
    };
  }
}
