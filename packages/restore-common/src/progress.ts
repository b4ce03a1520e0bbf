/**
 * The job program's stdout: one JSON object a line. Progress lines (`"type":"progress"`) at most once a
 * second and at every phase change; every other line is a log line with a level.
 */
import { z } from 'zod';
import { JOB_PHASES } from './phases';

const count = z.number().min(0);

export const progressLineSchema = z
  .object({
    type: z.literal('progress'),
    ts: z.string(),
    phase: z.enum(JOB_PHASES),
    objectsDone: count,
    objectsTotal: count.optional(),
    objectsSkipped: count.default(0),
    bytesDone: count,
    bytesTotal: count.optional(),
    /** The listing is still going: objectsTotal and bytesTotal are what was listed so far. */
    listing: z.boolean().optional(),
    bytesPerSecond: count.default(0),
    etaSeconds: count.optional(),
    /** While Thawing: archived objects waiting and ready. */
    thaw: z.object({ waiting: count, ready: count }).optional(),
    shard: z
      .object({ index: count, count: z.number().int().min(1) })
      .optional(),
  })
  .passthrough();

export type ProgressLine = z.output<typeof progressLineSchema>;
export type ProgressLineInput = Omit<
  z.input<typeof progressLineSchema>,
  'type' | 'ts'
> & { ts?: string };

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const logLineSchema = z
  .object({
    type: z.literal('log'),
    ts: z.string(),
    level: z.enum(LOG_LEVELS),
    msg: z.string(),
  })
  .passthrough();
export type LogLine = z.output<typeof logLineSchema>;

export type JobOutputLine =
  | { type: 'progress'; line: ProgressLine }
  | { type: 'log'; line: LogLine }
  | { type: 'text'; text: string };

export function encodeProgressLine(
  progress: ProgressLineInput,
  now: Date = new Date(),
): string {
  return JSON.stringify(
    progressLineSchema.parse({
      ...progress,
      type: 'progress',
      ts: progress.ts ?? now.toISOString(),
    }),
  );
}

export function encodeLogLine(
  level: LogLevel,
  msg: string,
  fields: Record<string, unknown> = {},
  now: Date = new Date(),
): string {
  return JSON.stringify({
    ...fields,
    type: 'log',
    ts: now.toISOString(),
    level,
    msg,
  });
}

/** Classifies one line of the job's output; anything that is not ours is `text`. Never throws. */
export function parseJobOutputLine(raw: string): JobOutputLine {
  const text = raw.trim();
  if (text.startsWith('{')) {
    try {
      const value = JSON.parse(text) as { type?: unknown };
      if (value.type === 'progress') {
        const result = progressLineSchema.safeParse(value);
        if (result.success) return { type: 'progress', line: result.data };
      } else if (value.type === 'log') {
        const result = logLineSchema.safeParse(value);
        if (result.success) return { type: 'log', line: result.data };
      }
    } catch {
      // fall through
    }
  }
  return { type: 'text', text };
}

/** The newest progress line in a chunk of log text, if any. */
export function lastProgressLine(logText: string): ProgressLine | undefined {
  const lines = logText.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const parsed = parseJobOutputLine(lines[i]);
    if (parsed.type === 'progress') return parsed.line;
  }
  return undefined;
}
