/*
 * What a run's real nodes create on the host (cgroups, bridges, subnet locks, iptables rules),
 * recorded in <runDir>/node-resources.json before each is made, so that scripts/node-cleanup.cjs
 * can remove all of it whoever runs it (stop(), the signal handlers, the reaper, a later start).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PACKAGE_DIR } from '../paths';

export const NODE_CLEANUP_SCRIPT = path.join(
  PACKAGE_DIR,
  'scripts',
  'node-cleanup.cjs',
);

export interface NodeResources {
  cgroupRoots: string[];
  bridges: string[];
  locks: string[];
  /** rules as iptables arguments after -A/-D, e.g. ['FORWARD', '-i', 'br0', '-j', 'DROP'] */
  iptables: string[][];
  /** directories outside the run dir whose mounts are ours */
  mountRoots: string[];
}

export class ResourceLedger {
  private readonly file: string;
  readonly res: NodeResources = {
    cgroupRoots: [],
    bridges: [],
    locks: [],
    iptables: [],
    mountRoots: [],
  };

  constructor(readonly runDir: string) {
    this.file = path.join(runDir, 'node-resources.json');
  }

  add<K extends keyof NodeResources>(kind: K, item: NodeResources[K][number]) {
    (this.res[kind] as unknown[]).push(item);
    fs.writeFileSync(this.file, JSON.stringify(this.res, null, 2));
  }
}

/** Runs scripts/node-cleanup.cjs for a run directory (a no-op when it has no node resources). */
export function cleanupNodeResources(runDir: string): void {
  if (!fs.existsSync(path.join(runDir, 'node-resources.json'))) return;
  spawnSync(process.execPath, [NODE_CLEANUP_SCRIPT, runDir], {
    stdio: 'ignore',
    timeout: 60_000,
  });
}
