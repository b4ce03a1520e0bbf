/**
 * kubectl's global flags and the connection they describe (opened by commands/connect.ts), durations
 * and restore names as the commands read them. Free of core, so validation and `--help` stay fast.
 */
import {
  MAX_RESTORE_NAME_LENGTH,
  dns1123LabelProblem,
} from '@kube-restore/common';
import type { KubeClients } from '@kube-restore/core';
import { invalid } from './errors';

export interface GlobalOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  allNamespaces?: boolean;
  /** kubectl syntax: `0` (none), `30s`, `1m`, `500ms`, or plain seconds. */
  requestTimeout?: string;
  /** -v: stack traces on errors. */
  verbose?: number;
}

export interface Session {
  clients: KubeClients;
  /** From -n, else the context's namespace, else `default`. */
  namespace: string;
  /** The kubeconfig user of the current context (recorded as the requester). */
  user?: string;
  /** `--request-timeout` in ms (none when unset or 0): also bounds create's own S3 listing. */
  requestTimeoutMs?: number;
}

/** Opens the connection on first use; commands call it only after validating their input. */
export type SessionFactory = () => Promise<Session>;

const UNITS: Record<string, number> = {
  ms: 0.001,
  s: 1,
  m: 60,
  h: 3600,
  d: 86400,
};

/**
 * A duration in seconds: Go-style `1h30m`, `90s`, `500ms`, `2d`, or a plain number of seconds.
 * Throws a CliError (exit 2) naming the flag and the value.
 */
export function parseDuration(value: string, flag: string): number {
  const text = String(value).trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
  if (parts.length === 0 || parts.map(p => p[0]).join('') !== text) {
    throw invalid(
      `invalid ${flag} "${value}": expected a duration such as 30s, 10m, 1h30m or a number of seconds`,
    );
  }
  return parts.reduce((n, p) => n + Number(p[1]) * UNITS[p[2]], 0);
}

/** `restore/NAME`, `restores/NAME` or `NAME` -> NAME, checked as a restore name. */
export function restoreNameArg(value: string | undefined): string {
  if (!value) throw invalid('a restore NAME is required');
  const name = String(value).replace(/^restores?(\.kube-restore\.io)?\//, '');
  const problem = dns1123LabelProblem(name, MAX_RESTORE_NAME_LENGTH);
  if (problem) throw invalid(`invalid restore name "${value}": ${problem}`);
  return name;
}
