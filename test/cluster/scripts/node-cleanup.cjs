#!/usr/bin/env node
/*
 * Removes what a run's real nodes left on the host, from <runDir>/node-resources.json:
 *   1. every process in the nodes' cgroups (the containers) is killed, and the cgroups removed;
 *   2. every mount under the run's directories is unmounted (kubelet's rshared root dir, volume bind
 *      mounts, containerd's overlay and shm mounts, network namespaces), deepest first;
 *   3. the bridges are deleted and the pod subnets released; /var/log/containers links into the run go.
 * One definition, run by cluster.stop(), by the run's synchronous cleanup on signals and exit, by the
 * reaper when the owner died, and by the next start's stale-run cleanup. Idempotent; never throws.
 * Usage: node node-cleanup.cjs <runDir>
 */
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

function readResources(runDir) {
  try {
    return JSON.parse(
      fs.readFileSync(path.join(runDir, 'node-resources.json'), 'utf8'),
    );
  } catch {
    return undefined;
  }
}

function cgroupMounts() {
  const out = [];
  for (const line of fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!post) continue;
    const fstype = post.split(' ')[0];
    if (fstype === 'cgroup' || fstype === 'cgroup2')
      out.push(unescape(pre.split(' ')[4]));
  }
  return out;
}

function unescape(p) {
  return p.replace(/\\([0-7]{3})/g, (_, o) =>
    String.fromCharCode(parseInt(o, 8)),
  );
}

/** all cgroup directories under root (deepest first) */
function walk(dir) {
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const dirs = [];
  for (const e of entries)
    if (e.isDirectory()) dirs.push(...walk(path.join(dir, e.name)));
  dirs.push(dir);
  return dirs;
}

function pidsIn(dirs) {
  const pids = new Set();
  for (const d of dirs) {
    try {
      for (const p of fs
        .readFileSync(path.join(d, 'cgroup.procs'), 'utf8')
        .split('\n'))
        if (p.trim()) pids.add(Number(p));
    } catch {
      /* gone */
    }
  }
  return [...pids];
}

function sleepMs(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function killCgroups(roots) {
  const mounts = cgroupMounts();
  const all = () =>
    roots.flatMap(r => mounts.flatMap(m => walk(path.join(m, r))));
  for (let i = 0; i < 50; i++) {
    const pids = pidsIn(all());
    if (!pids.length) break;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    sleepMs(100);
  }
  // freezer cgroups left frozen would keep their tasks: thaw before removal
  for (const d of all()) {
    try {
      fs.writeFileSync(path.join(d, 'freezer.state'), 'THAWED');
    } catch {
      /* not a freezer cgroup */
    }
  }
  for (const d of all()) {
    try {
      fs.rmdirSync(d);
    } catch {
      /* busy or gone */
    }
  }
}

function unmountUnder(roots) {
  const prefixes = roots.map(r => path.resolve(r));
  for (let pass = 0; pass < 3; pass++) {
    const points = [];
    for (const line of fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')) {
      const f = line.split(' ');
      if (f.length < 5) continue;
      const mp = unescape(f[4]);
      if (prefixes.some(p => mp === p || mp.startsWith(`${p}/`)))
        points.push(mp);
    }
    if (!points.length) return;
    points.sort((a, b) => b.length - a.length);
    for (const mp of [...new Set(points)])
      spawnSync('umount', ['-l', mp], { stdio: 'ignore' });
  }
}

function main() {
  const runDir = process.argv[2];
  if (!runDir) {
    process.stderr.write('usage: node-cleanup.cjs <runDir>\n');
    process.exit(2);
  }
  const res = readResources(runDir);
  if (!res) return;
  killCgroups(res.cgroupRoots || []);
  unmountUnder([runDir, ...(res.mountRoots || [])]);
  for (const br of res.bridges || [])
    spawnSync('ip', ['link', 'del', br], { stdio: 'ignore' });
  for (const rule of res.iptables || [])
    spawnSync('iptables', ['-D', ...rule], { stdio: 'ignore' });
  for (const lock of res.locks || []) {
    try {
      fs.rmSync(lock, { force: true });
    } catch {
      /* gone */
    }
  }
  try {
    for (const name of fs.readdirSync('/var/log/containers')) {
      const link = path.join('/var/log/containers', name);
      try {
        if (fs.readlinkSync(link).startsWith(runDir))
          fs.rmSync(link, { force: true });
      } catch {
        /* not a link */
      }
    }
  } catch {
    /* no such directory */
  }
}

try {
  main();
} catch (e) {
  process.stderr.write(`node-cleanup: ${e && e.stack ? e.stack : e}\n`);
}
