/*
 * The servers' binaries: built by scripts/build-servers.sh, found in the cache.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { PACKAGE_DIR, REPO_ROOT } from './paths';
import { cacheDir } from './run';

export { PACKAGE_DIR, REPO_ROOT };

export const BUILD_SCRIPT = path.join(
  PACKAGE_DIR,
  'scripts',
  'build-servers.sh',
);
export interface ClusterBinaries {
  kubeApiserver: string;
  kubeControllerManager: string;
  kubectl: string;
  kubelet: string;
  kubeScheduler: string;
  etcd: string;
  minio: string;
  mc: string;
  versitygw: string;
  /** bridge, host-local and loopback */
  cniBinDir: string;
  /** the static pause program for the sandbox image */
  pause: string;
}

/** Runs build-servers.sh (a no-op when cached) and returns the binaries' paths. */
export async function ensureBinaries(
  cache = cacheDir(),
  components = ['k8s', 'etcd', 'minio', 'cni', 'pause'],
): Promise<ClusterBinaries> {
  const out = await new Promise<string>((resolve, reject) => {
    const child = execFile(
      'bash',
      [BUILD_SCRIPT, ...components],
      {
        env: { ...process.env, KUBE_RESTORE_CACHE: cache },
        maxBuffer: 1 << 20,
      },
      (err, stdout, stderr) => {
        if (err)
          reject(
            new Error(
              `building the test servers failed (${BUILD_SCRIPT}):\n${stderr.slice(-4000)}`,
            ),
          );
        else resolve(stdout);
      },
    );
    child.stderr?.on('data', d => {
      if (process.env.KUBE_RESTORE_CLUSTER_VERBOSE === '1')
        process.stderr.write(d);
    });
  });
  const env: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) env[m[1]] = m[2];
  }
  const keys: Record<string, string[]> = {
    k8s: [
      'KUBE_APISERVER',
      'KUBE_CONTROLLER_MANAGER',
      'KUBECTL',
      'KUBELET',
      'KUBE_SCHEDULER',
    ],
    cni: ['CNI_BIN_DIR'],
    pause: ['PAUSE'],
    etcd: ['ETCD'],
    minio: ['MINIO'],
    mc: ['MC'],
    versitygw: ['VERSITYGW'],
  };
  for (const c of components)
    for (const k of keys[c] ?? [])
      if (!env[k]) throw new Error(`build-servers.sh did not report ${k}`);
  // binaries not asked for are '' unless an earlier build left them in the cache
  return {
    kubeApiserver: env.KUBE_APISERVER ?? '',
    kubeControllerManager: env.KUBE_CONTROLLER_MANAGER ?? '',
    kubectl: env.KUBECTL ?? '',
    kubelet: env.KUBELET ?? '',
    kubeScheduler: env.KUBE_SCHEDULER ?? '',
    etcd: env.ETCD ?? '',
    minio: env.MINIO ?? '',
    mc: env.MC ?? '',
    versitygw: env.VERSITYGW ?? '',
    cniBinDir: env.CNI_BIN_DIR ?? '',
    pause: env.PAUSE ?? '',
  };
}
