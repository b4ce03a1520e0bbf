/*
 * containerd as a node's CRI: Debian's containerd with runc, its own root, state and socket under
 * the run's directory, so that several nodes (and several runs) never share a container or an image
 * store. Images come from OCI archives imported with ctr; nothing is ever pulled.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { ManagedProcess, spawnManaged } from '../processes';
import { waitFor } from '../util';

const execFileP = promisify(execFile);

export const PAUSE_IMAGE = 'registry.k8s.io/pause:3.10';

const NO_PULL_ENV = {
  HTTP_PROXY: 'http://127.0.0.1:9',
  HTTPS_PROXY: 'http://127.0.0.1:9',
  NO_PROXY: '',
};

export interface Containerd {
  socket: string;
  proc: ManagedProcess;
  /** imports an OCI (or docker) image archive into the k8s.io namespace, unpacked for the CRI */
  importImage(archive: string): Promise<void>;
  /** image references in the k8s.io namespace */
  images(): Promise<string[]>;
}

function configToml(o: {
  dir: string;
  socket: string;
  cniBinDir: string;
  cniConfDir: string;
}): string {
  const q = (s: string) => JSON.stringify(s);
  return `version = 2
root = ${q(path.join(o.dir, 'root'))}
state = ${q(path.join(o.dir, 'state'))}
disabled_plugins = [
  "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing",
]

[grpc]
  address = ${q(o.socket)}
[ttrpc]
  address = ${q(`${o.socket}.ttrpc`)}
[debug]
  address = ""
[metrics]
  address = ""

[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = ${q(path.join(o.dir, 'opt'))}
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = ${q(PAUSE_IMAGE)}
    # this sandbox may not lower oom_score_adj (no CAP_SYS_RESOURCE): keep scores at or above ours
    restrict_oom_score_adj = true
    netns_mounts_under_state_dir = true
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
    disable_apparmor = true
    enable_selinux = false
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "overlayfs"
      default_runtime_name = "runc"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          SystemdCgroup = false
          Root = ${q(path.join(o.dir, 'runc'))}
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = ${q(o.cniBinDir)}
      conf_dir = ${q(o.cniConfDir)}
      max_conf_num = 1
`;
}

export async function startContainerd(o: {
  runId: string;
  name: string;
  dir: string;
  cniBinDir: string;
  cniConfDir: string;
  logDir: string;
  env: NodeJS.ProcessEnv;
}): Promise<Containerd> {
  fs.mkdirSync(o.dir, { recursive: true });
  // unix socket paths are limited to 108 bytes: keep it short and inside the run
  const socket = path.join(o.dir, 'c.sock');
  const config = path.join(o.dir, 'config.toml');
  fs.writeFileSync(
    config,
    configToml({
      dir: o.dir,
      socket,
      cniBinDir: o.cniBinDir,
      cniConfDir: o.cniConfDir,
    }),
  );
  const proc = spawnManaged(
    o.runId,
    o.name,
    'containerd',
    ['--config', config],
    {
      // Nothing is pulled: any registry request goes to a closed loopback port, so an image missing
      // from the node fails at once (ErrImagePull) and no lookup or connection leaves this machine.
      env: { ...o.env, ...NO_PULL_ENV },
      logFile: path.join(o.logDir, `${o.name}.log`),
    },
  );
  const ctr = (...args: string[]) =>
    execFileP('ctr', ['--address', socket, '--namespace', 'k8s.io', ...args], {
      env: o.env,
      maxBuffer: 16 << 20,
    });
  await waitFor(
    o.name,
    proc,
    async () => {
      try {
        await ctr('version');
        return true;
      } catch {
        return false;
      }
    },
    30_000,
  );
  return {
    socket,
    proc,
    async importImage(archive) {
      try {
        await ctr('images', 'import', archive);
      } catch (e: any) {
        throw new Error(
          `ctr images import ${archive} into ${o.name} failed: ${e.stderr ?? e.message}`,
        );
      }
    },
    async images() {
      const { stdout } = await ctr('images', 'ls', '-q');
      return stdout.split('\n').filter(Boolean);
    },
  };
}
