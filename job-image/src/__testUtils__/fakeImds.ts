/**
 * A stand-in for a node's instance metadata service (IMDSv2) on loopback, for the job's credential
 * tests: it hands out the keys it is given and records every request, so that a test can say the
 * node was asked, or never was.
 */
import http from 'node:http';
import net from 'node:net';

/** A stand-in for the node's instance metadata (IMDSv2) that hands out `keys` and counts requests. */
export async function fakeImds(keys: {
  accessKeyId: string;
  secretAccessKey: string;
}) {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    if (req.method === 'PUT') return res.end('token');
    if (req.url?.endsWith('/security-credentials/'))
      return res.end('node-role');
    return res.end(
      JSON.stringify({
        Code: 'Success',
        AccessKeyId: keys.accessKeyId,
        SecretAccessKey: keys.secretAccessKey,
        Token: '',
        Expiration: new Date(Date.now() + 3600_000).toISOString(),
      }),
    );
  });
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  return {
    requests,
    env: {
      AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://127.0.0.1:${port}`,
      // No keys in the environment: only the node could answer.
      AWS_ACCESS_KEY_ID: '',
      AWS_SECRET_ACCESS_KEY: '',
    },
    close: () => new Promise(r => server.close(r)),
  };
}
