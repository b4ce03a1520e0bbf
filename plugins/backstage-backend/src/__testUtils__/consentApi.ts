/**
 * For the tests without a cluster: an HTTP server that answers the one Kubernetes call of namespace consent
 * (GET the opt-in RoleBinding) the way kube-apiserver does for the operator: the RoleBinding when the namespace
 * opted in, 403 otherwise (the operator can read it only through the binding itself). Every other call is
 * answered 503, so nothing else pretends to be a cluster. router.cluster.test.ts uses the real API server.
 */
import http from 'node:http';
import { AddressInfo } from 'node:net';

/** namespace -> value of kube-restore.io/backstage-owners on its opt-in RoleBinding (undefined: no annotation). */
export type OptIns = Record<string, string | undefined>;

const ROLEBINDING =
  /^\/apis\/rbac\.authorization\.k8s\.io\/v1\/namespaces\/([^/]+)\/rolebindings\/kube-restore-operator$/;

export async function startConsentApi(optIns: OptIns) {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const match = req.method === 'GET' && ROLEBINDING.exec(req.url ?? '');
    res.setHeader('Content-Type', 'application/json');
    if (!match) {
      res.statusCode = 503;
      res.end(JSON.stringify({ kind: 'Status', status: 'Failure', code: 503 }));
      return;
    }
    const namespace = decodeURIComponent(match[1]);
    if (!(namespace in optIns)) {
      res.statusCode = 403;
      res.end(
        JSON.stringify({
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          reason: 'Forbidden',
          code: 403,
          message: `rolebindings.rbac.authorization.k8s.io "kube-restore-operator" is forbidden: User "system:serviceaccount:kube-restore:restore-operator" cannot get resource "rolebindings" in API group "rbac.authorization.k8s.io" in the namespace "${namespace}"`,
        }),
      );
      return;
    }
    const owners = optIns[namespace];
    res.end(
      JSON.stringify({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: {
          name: 'kube-restore-operator',
          namespace,
          ...(owners !== undefined
            ? { annotations: { 'kube-restore.io/backstage-owners': owners } }
            : {}),
        },
        roleRef: {
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'ClusterRole',
          name: 'kube-restore-operator',
        },
        subjects: [
          {
            kind: 'ServiceAccount',
            name: 'restore-operator',
            namespace: 'kube-restore',
          },
        ],
      }),
    );
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    stop: () => new Promise<void>(resolve => server.close(() => resolve())),
  };
}
