/**
 * A throw-away certificate authority per run (openssl): a CA and a server certificate for
 * 127.0.0.1 and localhost, laid out as MinIO's --certs-dir wants (public.crt, private.key). Every
 * tool is given the CA (ca.crt); nothing is added to the system's trust store.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { runOk } from './measure';

export interface RunPki {
  /** The CA's certificate (PEM): what each tool trusts. */
  caFile: string;
  /** MinIO's --certs-dir. */
  certsDir: string;
}

export async function makePki(dir: string): Promise<RunPki> {
  const certsDir = path.join(dir, 'certs');
  await fsp.mkdir(certsDir, { recursive: true });
  const caKey = path.join(dir, 'ca.key');
  const caFile = path.join(dir, 'ca.crt');
  const key = path.join(certsDir, 'private.key');
  const csr = path.join(dir, 'server.csr');
  const crt = path.join(certsDir, 'public.crt');
  const ext = path.join(dir, 'server.ext');
  const ssl = (...args: string[]) => runOk('openssl', args);
  await ssl(
    'ecparam',
    '-name',
    'prime256v1',
    '-genkey',
    '-noout',
    '-out',
    caKey,
  );
  await ssl(
    'req',
    '-x509',
    '-new',
    '-key',
    caKey,
    '-sha256',
    '-days',
    '2',
    '-subj',
    '/CN=kube-restore bench CA',
    '-out',
    caFile,
  );
  await ssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key);
  await ssl('req', '-new', '-key', key, '-subj', '/CN=127.0.0.1', '-out', csr);
  await fsp.writeFile(
    ext,
    'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n',
  );
  await ssl(
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    caFile,
    '-CAkey',
    caKey,
    '-CAcreateserial',
    '-days',
    '2',
    '-sha256',
    '-extfile',
    ext,
    '-out',
    crt,
  );
  await fsp.chmod(key, 0o600);
  return { caFile, certsDir };
}
