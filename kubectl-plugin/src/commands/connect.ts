/** Opens the connection the global flags describe (lives with the commands: it loads core). */
import {
  applyRequestTimeout,
  createKubeClients,
  currentUserName,
  loadKubeConfig,
  resolveNamespace,
} from '@kube-restore/core';
import {
  GlobalOptions,
  Session,
  SessionFactory,
  parseDuration,
} from '../session';

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
    ...(timeoutMs > 0 ? { requestTimeoutMs: timeoutMs } : {}),
  };
}

/** Opens the connection on first use; commands call it only after validating their input. */
export function sessionFactory(globals: GlobalOptions): SessionFactory {
  let session: Promise<Session> | undefined;
  return () => {
    session ??= (async () => {
      const timeoutMs = globals.requestTimeout
        ? parseDuration(globals.requestTimeout, '--request-timeout') * 1000
        : 0;
      return connect(globals, timeoutMs);
    })();
    return session;
  };
}
