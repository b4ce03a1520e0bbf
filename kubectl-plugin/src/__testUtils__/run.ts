/** `main` with an in-memory CommandIo, and a watch that yields statuses: the command tests' tools. */
import type { RestoreStatus } from '@kube-restore/common';
import { main } from '../cli';
import { bufferIo } from '../io';
import { NOW } from './fixtures';

export async function run(args: string[], env: Record<string, string> = {}) {
  const b = bufferIo({ env, now: NOW });
  const code = await main(args, b.io);
  return { code, stdout: b.stdout(), stderr: b.stderr() };
}

export function statuses(...list: RestoreStatus[]) {
  return async function* watch() {
    for (const s of list) yield s;
  };
}
