/** `--request-timeout`: a deadline for every API request made through a KubeConfig (watches and log streams excepted). */
import type { KubeConfig } from '@kubernetes/client-node';

/** Makes every request of API clients built from `kc` abort after `ms` milliseconds (0: no limit). */
export function applyRequestTimeout(kc: KubeConfig, ms: number): KubeConfig {
  if (!ms) return kc;
  const apply = kc.applySecurityAuthentication.bind(kc);
  kc.applySecurityAuthentication = async context => {
    await apply(context);
    if (!context.getSignal()) context.setSignal(AbortSignal.timeout(ms));
  };
  return kc;
}
