/** Opens the connection the global flags describe (lives with the commands: it loads core). */
import {
  applyRequestTimeout,
  createKubeClients,
  currentUserName,
  loadKubeConfig,
  resolveNamespace,
} from '@kube-restore/core';
import type { GlobalOptions, Session } from '../session';

export function connect(globals: GlobalOptions, timeoutMs: number): Session {
  const kc = loadKubeConfig({
    kubeconfig: globals.kubeconfig,
    context: globals.context,
  });
  applyRequestTimeout(kc, timeoutMs);
  return {
    clients: createKubeClients(kc),
    namespace: resolveNamespace(kc, globals.namespace),
    user: currentUserName(kc),
  };
}
