/**
 * stdout of the job program: JSON log lines, and progress lines at most once a second and at every
 * phase change (common's codecs). Everything leaving here goes through `redact`.
 */
import {
  encodeLogLine,
  encodeProgressLine,
  JobPhase,
  LogLevel,
} from '@kube-restore/common';
import { redact } from './errors';
import type { Shard } from './shard';

export interface ProgressCounters {
  objectsDone: number;
  objectsTotal?: number;
  objectsSkipped: number;
  bytesDone: number;
  bytesTotal?: number;
  /** The listing is still going: objectsTotal and bytesTotal still grow. */
  listing?: boolean;
  thaw?: { waiting: number; ready: number };
}

export interface ReporterOptions {
  write?: (line: string) => void;
  shard?: Shard;
  intervalMs?: number;
  now?: () => number;
  /** Minimum level written (default info). */
  level?: LogLevel;
}

const LEVELS: LogLevel[] = ['debug', 'info', 'warn', 'error'];
const RATE_WINDOW_MS = 5000;

export class Reporter {
  phase: JobPhase = 'Planning';
  readonly counters: ProgressCounters = {
    objectsDone: 0,
    objectsSkipped: 0,
    bytesDone: 0,
  };
  private readonly write: (line: string) => void;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly minLevel: number;
  private lastEmit = -Infinity;
  private timer?: NodeJS.Timeout;
  /** (time, bytesDone) samples for the rate. */
  private samples: Array<[number, number]> = [];

  constructor(private readonly options: ReporterOptions = {}) {
    this.write = options.write ?? (line => process.stdout.write(`${line}\n`));
    this.intervalMs = options.intervalMs ?? 1000;
    this.now = options.now ?? (() => Date.now());
    this.minLevel = LEVELS.indexOf(options.level ?? 'info');
  }

  log(
    level: LogLevel,
    msg: string,
    fields: Record<string, unknown> = {},
  ): void {
    if (LEVELS.indexOf(level) < this.minLevel) return;
    const withShard = this.options.shard
      ? { ...fields, shard: this.options.shard }
      : fields;
    this.write(redact(encodeLogLine(level, msg, withShard)));
  }

  /** Starts the once-a-second ticker (emits only when something is due). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.maybeEmit(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  setPhase(phase: JobPhase): void {
    if (phase === this.phase && this.lastEmit !== -Infinity) return;
    this.phase = phase;
    this.emit();
  }

  addBytes(bytes: number): void {
    this.counters.bytesDone += bytes;
  }

  /** Emits if a second has passed since the last line. */
  maybeEmit(): void {
    if (this.now() - this.lastEmit >= this.intervalMs) this.emit();
  }

  emit(): void {
    const t = this.now();
    this.lastEmit = t;
    this.samples.push([t, this.counters.bytesDone]);
    while (this.samples.length > 2 && t - this.samples[0][0] > RATE_WINDOW_MS)
      this.samples.shift();
    const [t0, b0] = this.samples[0];
    const rate =
      t > t0 ? ((this.counters.bytesDone - b0) * 1000) / (t - t0) : 0;
    const c = this.counters;
    const remaining =
      c.bytesTotal !== undefined
        ? Math.max(0, c.bytesTotal - c.bytesDone)
        : undefined;
    const eta =
      this.phase === 'Restoring' &&
      !c.listing &&
      remaining !== undefined &&
      rate > 0
        ? Math.ceil(remaining / rate)
        : undefined;
    this.write(
      redact(
        encodeProgressLine({
          phase: this.phase,
          objectsDone: c.objectsDone,
          objectsTotal: c.objectsTotal,
          objectsSkipped: c.objectsSkipped,
          bytesDone: c.bytesDone,
          bytesTotal: c.bytesTotal,
          listing: c.listing,
          bytesPerSecond: Math.round(rate),
          etaSeconds: eta,
          thaw: c.thaw,
          shard: this.options.shard,
        }),
      ),
    );
  }
}
