/*
 * The pod network of a run: one Linux bridge and one /24 per node, carved out of 10.244.0.0/16.
 * The harness makes the bridges and gives each its gateway address; the CNI bridge plugin attaches
 * pods to them without touching routing (isGateway false, so it never turns on IP forwarding), and
 * host-local gives each pod a route to 10.244.0.0/16 only: a pod reaches the host's addresses on the
 * bridges (MinIO listens on the first node's gateway) and nothing beyond this machine.
 */
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ResourceLedger } from './resources';

export const POD_NETWORK = '10.244.0.0/16';

export interface PodNetwork {
  bridge: string;
  /** e.g. 10.244.17.0/24 */
  subnet: string;
  /** the bridge's (the host's) address in the subnet, e.g. 10.244.17.1 */
  gateway: string;
}

function ip(...args: string[]): string {
  return execFileSync('ip', args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** third octets of 10.244.x.0/24 networks already on this host */
function octetsInUse(): Set<number> {
  const used = new Set<number>();
  for (const m of ip('-o', '-4', 'addr', 'show').matchAll(
    /inet 10\.244\.(\d+)\./g,
  ))
    used.add(Number(m[1]));
  return used;
}

/**
 * Picks `count` free /24s (a lock file per subnet under locksDir, owned by runId; locks of runs whose
 * directory is gone are taken over), creates a bridge with the gateway address for each, and, when
 * the host forwards IPv4, rules that drop anything forwarded from or to the bridges.
 */
export function createPodNetworks(opts: {
  runId: string;
  runsDir: string;
  locksDir: string;
  count: number;
  ledger: ResourceLedger;
}): PodNetwork[] {
  fs.mkdirSync(opts.locksDir, { recursive: true });
  const short = opts.runId.replace(/[^a-z0-9]/g, '').slice(-6);
  for (let attempt = 0; attempt < 200; attempt++) {
    const used = octetsInUse();
    const base = crypto.randomInt(1, 255 - opts.count);
    const octets = Array.from({ length: opts.count }, (_, i) => base + i);
    if (octets.some(o => used.has(o))) continue;
    const taken: string[] = [];
    const ok = octets.every(o => {
      const lock = path.join(opts.locksDir, `10.244.${o}`);
      if (takeLock(lock, opts.runId, opts.runsDir)) {
        taken.push(lock);
        return true;
      }
      return false;
    });
    if (!ok) {
      for (const l of taken) fs.rmSync(l, { force: true });
      continue;
    }
    for (const l of taken) opts.ledger.add('locks', l);
    const nets = octets.map((o, i) => ({
      bridge: `kr${short}n${i}`,
      subnet: `10.244.${o}.0/24`,
      gateway: `10.244.${o}.1`,
    }));
    const forwarding =
      fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim() === '1';
    for (const n of nets) {
      opts.ledger.add('bridges', n.bridge);
      // A fixed address: a bridge without one takes the lowest address of its ports, so it
      // changes as pods come and go, and a pod that cached the gateway's old address loses its
      // traffic (for a minute and more) once the port that had it is gone.
      ip(
        'link',
        'add',
        'name',
        n.bridge,
        'address',
        bridgeMac(),
        'type',
        'bridge',
      );
      ip('addr', 'add', `${n.gateway}/24`, 'dev', n.bridge);
      ip('link', 'set', n.bridge, 'up');
      if (forwarding) {
        for (const dir of ['-i', '-o']) {
          const rule = ['FORWARD', dir, n.bridge, '-j', 'DROP'];
          opts.ledger.add('iptables', rule);
          execFileSync('iptables', ['-I', ...rule], { stdio: 'ignore' });
        }
      }
    }
    return nets;
  }
  throw new Error('no free /24 in 10.244.0.0/16 for the pod network');
}

/** A random locally administered unicast address (02:6b:72 is "kr"). */
function bridgeMac(): string {
  const tail = [...crypto.randomBytes(3)].map(b =>
    b.toString(16).padStart(2, '0'),
  );
  return ['02', '6b', '72', ...tail].join(':');
}

function takeLock(lock: string, runId: string, runsDir: string): boolean {
  try {
    fs.writeFileSync(lock, runId, { flag: 'wx' });
    return true;
  } catch {
    // taken: free it if its run is gone
    try {
      const owner = fs.readFileSync(lock, 'utf8').trim();
      if (owner && !fs.existsSync(path.join(runsDir, owner))) {
        fs.rmSync(lock, { force: true });
        fs.writeFileSync(lock, runId, { flag: 'wx' });
        return true;
      }
    } catch {
      /* raced with another run */
    }
    return false;
  }
}

/**
 * CNI configuration for one node's pods (containerd reads it from its conf_dir; it sets up each
 * pod's loopback itself with the loopback plugin from its bin_dir).
 */
export function cniConfig(net: PodNetwork, ipamDataDir: string): string {
  return JSON.stringify(
    {
      cniVersion: '1.0.0',
      name: 'kube-restore',
      plugins: [
        {
          type: 'bridge',
          bridge: net.bridge,
          isGateway: false,
          ipMasq: false,
          hairpinMode: false,
          ipam: {
            type: 'host-local',
            dataDir: ipamDataDir,
            ranges: [[{ subnet: net.subnet, gateway: net.gateway }]],
            routes: [{ dst: POD_NETWORK, gw: net.gateway }],
          },
        },
      ],
    },
    null,
    2,
  );
}
