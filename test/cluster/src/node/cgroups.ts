/*
 * A cgroup of its own for each node's pods (the kubelet's cgroupRoot), in every cgroup v1 hierarchy
 * mounted here, so that two kubelets never manage each other's pods and cleanup finds every container
 * process. (On a cgroup v2 host the same path is made in the unified hierarchy.)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ResourceLedger } from './resources';

function cgroupMounts(): { dir: string; options: string; v2: boolean }[] {
  const out: { dir: string; options: string; v2: boolean }[] = [];
  for (const line of fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!post) continue;
    const [fstype, , superOptions] = post.split(' ');
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    out.push({
      dir: pre.split(' ')[4],
      options: superOptions ?? '',
      v2: fstype === 'cgroup2',
    });
  }
  return out;
}

/** Creates /<name> in each hierarchy (cpuset gets its parent's cpus and mems) and records it. */
export function createCgroupRoot(name: string, ledger: ResourceLedger): string {
  const mounts = cgroupMounts();
  if (!mounts.length)
    throw new Error('no cgroup hierarchy is mounted under /sys/fs/cgroup');
  ledger.add('cgroupRoots', name);
  for (const m of mounts) {
    const dir = path.join(m.dir, name);
    fs.mkdirSync(dir, { recursive: true });
    if (!m.v2 && m.options.split(',').includes('cpuset')) {
      for (const f of ['cpuset.cpus', 'cpuset.mems']) {
        const parent = fs.readFileSync(path.join(m.dir, f), 'utf8').trim();
        fs.writeFileSync(path.join(dir, f), parent);
      }
    }
  }
  return `/${name}`;
}
