import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { createKubeClients } from './clients';
import { applyRequestTimeout } from './requestTimeout';

function kubeConfigFor(server: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u', namespace: 'team-a' }],
    currentContext: 'x',
  });
  return kc;
}

describe('applyRequestTimeout', () => {
  let server: http.Server;
  let url: string;
  beforeAll(async () => {
    // An API server that accepts the request and never answers.
    server = http.createServer(() => undefined);
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise(resolve => server.close(resolve));
  });

  it('aborts a request that takes longer than the limit', async () => {
    const clients = createKubeClients(
      applyRequestTimeout(kubeConfigFor(url), 200),
    );
    // the server never answers: without the limit this would wait until jest's own timeout
    await expect(
      clients.batch.listNamespacedJob({ namespace: 'team-a' }),
    ).rejects.toThrow(/abort|timeout/i);
  });

  it('leaves requests alone with 0', () => {
    const kc = kubeConfigFor(url);
    const before = kc.applySecurityAuthentication;
    expect(applyRequestTimeout(kc, 0).applySecurityAuthentication).toBe(before);
  });
});
