import type { RestoreStatus } from '@kube-restore/common';
import * as core from '@kube-restore/core';
import { bufferIo } from './io';
import { NOW, restoring, succeeded } from './__testUtils__/fixtures';
import { waitForRestore } from './waiter';

jest.mock('@kube-restore/core', () => ({
  ...jest.requireActual('@kube-restore/core'),
  watchRestore: jest.fn(),
  deleteRestore: jest.fn(),
}));
const watchRestore = core.watchRestore as jest.MockedFunction<
  typeof core.watchRestore
>;

/** A terminal as cli-progress drives it. */
function fakeTerminal() {
  const chunks: string[] = [];
  return {
    chunks,
    isTTY: true,
    columns: 120,
    write: (t: string) => {
      chunks.push(t);
      return true;
    },
    cursorTo: () => true,
    moveCursor: () => true,
    clearLine: () => true,
    clearScreenDown: () => true,
    on: () => undefined,
    removeListener: () => undefined,
  };
}

describe('waitForRestore', () => {
  it('draws a progress bar with bytes, objects, rate and ETA on a terminal', async () => {
    const name = succeeded.name;
    watchRestore.mockImplementation(async function* watch() {
      yield { ...restoring, name } as RestoreStatus;
      yield succeeded;
    });
    const terminal = fakeTerminal();
    const { io } = bufferIo({ now: NOW });
    const status = await waitForRestore({} as never, 'team-a', name, io, {
      progressStream: terminal as never,
      onInterrupt: () => () => undefined,
    });
    expect(status.phase).toBe('Succeeded');
    const drawn = terminal.chunks.join('');
    expect(drawn).toContain('Restoring');
    expect(drawn).toContain('1.20 GiB/3.00 GiB');
    expect(drawn).toContain('1204/3000 objects');
    expect(drawn).toContain('55.0 MiB/s');
    expect(drawn).toContain('ETA 33s');
    expect(drawn).toMatch(/Succeeded .*100%/);
  });

  it('Ctrl-C stops the waiting, not the restore, and says so (exit 130)', async () => {
    let watching: () => void = () => undefined;
    const watchingNext = new Promise<void>(resolve => (watching = resolve));
    let watchSignal: AbortSignal | undefined;
    watchRestore.mockImplementation(
      async function* watch(_c, _ns, _name, options) {
        watchSignal = options?.signal;
        yield restoring;
        // the waiter took the first status and asks for the next: now Ctrl-C
        watching();
        await new Promise(resolve =>
          options?.signal?.addEventListener('abort', resolve),
        );
      },
    );
    let interrupt: () => void = () => undefined;
    const { io } = bufferIo({ now: NOW });
    const waiting = waitForRestore({} as never, 'team-a', restoring.name, io, {
      onInterrupt: stop => {
        interrupt = stop;
        return () => undefined;
      },
    });
    await watchingNext;
    interrupt();
    await expect(waiting).rejects.toMatchObject({
      exitCode: 130,
      message:
        'stopped waiting; restore restore-data-1a2b3c4d goes on in namespace team-a (Restoring): see kubectl restore status restore-data-1a2b3c4d -n team-a',
    });
    expect(watchSignal?.aborted).toBe(true);
    expect(core.deleteRestore).not.toHaveBeenCalled();
  });
});

describe('waitForRestore display', () => {
  it('never draws a restore going backwards (Pending between pod exit and Job completion)', async () => {
    watchRestore.mockImplementation(async function* watch() {
      yield {
        ...restoring,
        phase: 'Pending',
        progress: undefined,
      } as RestoreStatus;
      yield restoring;
      yield {
        ...restoring,
        phase: 'Pending',
        progress: undefined,
      } as RestoreStatus;
      yield { ...succeeded, name: restoring.name };
    });
    const b = bufferIo({ now: NOW });
    await waitForRestore({} as never, 'team-a', restoring.name, b.io, {
      onInterrupt: () => () => undefined,
      lineIntervalMs: 0,
    });
    expect(
      b
        .stderr()
        .split('\n')
        .map(l => l.split(' ')[1])
        .filter(Boolean),
    ).toEqual(['Pending', 'Restoring:', 'Succeeded']);
  });
});
