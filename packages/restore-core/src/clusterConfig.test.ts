import { kubeConfigFromCluster } from './clusterConfig';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

describe('kubeConfigFromCluster', () => {
  it('builds one context with the server, the CA as base64 and the bearer token', async () => {
    const kc = kubeConfigFromCluster({
      name: 'prod',
      url: 'https://10.0.0.1:6443/',
      caData: PEM,
      token: 'tok-123',
    });
    expect(kc.getCurrentContext()).toBe('prod');
    const cluster = kc.getCurrentCluster()!;
    expect(cluster.server).toBe('https://10.0.0.1:6443');
    expect(Buffer.from(cluster.caData!, 'base64').toString('utf8')).toBe(PEM);
    expect(cluster.skipTLSVerify).toBe(false);
    expect(kc.getCurrentUser()?.token).toBe('tok-123');
    const opts: { headers?: Record<string, string> } = {};
    await kc.applyToHTTPSOptions(opts as never);
    expect(opts.headers?.Authorization).toBe('Bearer tok-123');
  });

  it('keeps a CA given as base64 as it is', () => {
    const b64 = Buffer.from(PEM).toString('base64');
    expect(
      kubeConfigFromCluster({
        name: 'c',
        url: 'https://k:443',
        caData: b64,
      }).getCurrentCluster()!.caData,
    ).toBe(b64);
  });

  it('refuses a url that is not a URL, naming the cluster', () => {
    expect(() =>
      kubeConfigFromCluster({ name: 'broken', url: 'not a url' }),
    ).toThrow(/cluster broken: url/);
  });
});
