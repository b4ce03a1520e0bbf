/** Where commands write: injectable, so tests capture output without a terminal. */
export interface OutputStream {
  write(text: string): unknown;
  /** True on a terminal: live progress bars instead of periodic lines. */
  isTTY?: boolean;
  columns?: number;
}

export interface CommandIo {
  stdout: OutputStream;
  stderr: OutputStream;
  /** Environment for `--credentials-from-env`; default process.env. */
  env?: Record<string, string | undefined>;
  /** Clock for ages and durations; default now. */
  now?: () => Date;
}

export function processIo(): CommandIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    now: () => new Date(),
  };
}

/** An in-memory CommandIo for tests. */
export function bufferIo(
  options: { env?: Record<string, string>; now?: Date; tty?: boolean } = {},
) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CommandIo = {
    stdout: {
      write: (t: string) => out.push(t),
      isTTY: options.tty ?? false,
      columns: 100,
    },
    stderr: { write: (t: string) => err.push(t), isTTY: false },
    env: options.env ?? {},
    now: () => options.now ?? new Date('2026-11-21T12:00:00Z'),
  };
  return { io, stdout: () => out.join(''), stderr: () => err.join('') };
}
