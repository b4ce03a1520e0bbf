/**
 * The volume's claim and its record of what was there before, on real directories; the letter-case
 * probe also against a fake that folds case (no case-insensitive file system on the test machine:
 * the kernel has neither tmpfs nor ext4 casefolding).
 */
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CaseProbeDir, isCaseInsensitive, StateDir } from './stateDir';
import {
  claimVolume,
  ClaimOptions,
  markFinished,
  readClaim,
  readPreexisting,
  startHeartbeat,
} from './volume';

let root: string;
let state: StateDir;

beforeEach(async () => {
  root = await fsp.mkdtemp(path.join(os.tmpdir(), 'kr-volume-'));
  state = await StateDir.open(root);
});
afterEach(async () => {
  await state.close();
  await fsp.rm(root, { recursive: true, force: true });
});

const claim = (restore: string, more: Partial<ClaimOptions> = {}) =>
  claimVolume({
    state,
    root,
    restore,
    conflict: 'skip-existing',
    staleMs: 60_000,
    ...more,
  });

async function failure(p: Promise<unknown>) {
  try {
    await p;
  } catch (error) {
    return error as { code: string; message: string; entry?: string };
  }
  throw new Error('it succeeded');
}

describe('claimVolume', () => {
  it('a first claim records what the volume holds; the same restore resumes with that record', async () => {
    await fsp.writeFile(path.join(root, 'keep.txt'), 'user');
    const keep = await fsp.lstat(path.join(root, 'keep.txt'));
    const first = await claim('r1');
    expect(first.resuming).toBe(false);
    expect((await readPreexisting(state, 'r1')).has(keep)).toBe(true);
    await fsp.writeFile(path.join(root, 'mine.txt'), 'written by r1');
    const again = await claim('r1');
    expect(again.resuming).toBe(true);
    const record = await readPreexisting(state, 'r1');
    expect(record.has(keep)).toBe(true);
    expect(record.has(await fsp.lstat(path.join(root, 'mine.txt')))).toBe(
      false,
    );
  });

  it('a record larger than the memory limit moves to a table and answers the same', async () => {
    const user: string[] = [];
    for (let d = 0; d < 5; d++) {
      await fsp.mkdir(path.join(root, `d${d}`, 'deep'), { recursive: true });
      for (let f = 0; f < 60; f++) {
        const file = path.join(root, `d${d}`, f % 2 ? 'deep' : '', `f${f}`);
        await fsp.writeFile(file, 'user');
        user.push(file);
      }
    }
    await claim('big');
    const mine = path.join(root, 'mine.txt');
    await fsp.writeFile(mine, 'written by big');
    const scratch = await fsp.mkdtemp(path.join(os.tmpdir(), 'kr-spill-'));
    try {
      const spilled = await readPreexisting(state, 'big', {
        spillFile: () => path.join(scratch, 'preexisting'),
        memoryLimit: 100,
      });
      const inMemory = await readPreexisting(state, 'big');
      expect(spilled.size).toBe(300);
      expect(await fsp.readdir(scratch)).toEqual(['preexisting']);
      for (const file of [...user, mine]) {
        const st = await fsp.lstat(file);
        expect(spilled.has(st)).toBe(file !== mine);
        expect(inMemory.has(st)).toBe(file !== mine);
      }
      spilled.close();
      expect(await fsp.readdir(scratch)).toEqual([]);
    } finally {
      await fsp.rm(scratch, { recursive: true, force: true });
    }
  });

  it("without a record (a claim by an older job) every existing file counts as the user's", async () => {
    const record = await readPreexisting(state, 'nobody');
    expect(record.size).toBe(-1);
    expect(record.has(await fsp.lstat(root))).toBe(true);
  });

  it('refuses a second restore while the first is live, naming it', async () => {
    await claim('first');
    const error = await failure(claim('second'));
    expect(error.code).toBe('TARGET_IN_USE');
    expect(error.message).toContain('"first"');
    expect((await readClaim(state))?.restore).toBe('first');
  });

  it('takes over once the first finished (every shard), and forgets its record', async () => {
    await claim('first', { shard: { index: 0, count: 2 } });
    await markFinished(state, 'first', { index: 0, count: 2 });
    expect((await failure(claim('second'))).code).toBe('TARGET_IN_USE');
    await markFinished(state, 'first', { index: 1, count: 2 });
    const second = await claim('second');
    expect(second).toMatchObject({ resuming: false, previous: 'first' });
    expect(await fsp.readdir(path.join(root, '.kube-restore'))).not.toContain(
      'preexisting-first',
    );
  });

  it('a run of a finished restore makes it live again', async () => {
    await claim('first');
    await markFinished(state, 'first', undefined);
    await claim('first');
    expect((await failure(claim('second'))).code).toBe('TARGET_IN_USE');
  });

  it('takes over a claim whose heartbeat is older than the stale limit', async () => {
    await claim('first');
    const old = new Date(Date.now() - 120_000);
    await fsp.utimes(path.join(root, '.kube-restore/restore-id'), old, old);
    expect(await claim('second')).toMatchObject({ previous: 'first' });
  });

  it('fail: a volume with a file is TARGET_NOT_EMPTY, and no claim is made', async () => {
    await fsp.mkdir(path.join(root, 'lost+found'));
    await fsp.writeFile(path.join(root, 'x'), 'x');
    const error = await failure(claim('r', { conflict: 'fail' }));
    expect(error).toMatchObject({ code: 'TARGET_NOT_EMPTY', entry: 'x' });
    expect(await readClaim(state)).toBeUndefined();
  });

  it('fail: an empty directory is enough to refuse the volume, as before the record', async () => {
    await fsp.mkdir(path.join(root, 'empty-dir'));
    const error = await failure(claim('r', { conflict: 'fail' }));
    expect(error).toMatchObject({
      code: 'TARGET_NOT_EMPTY',
      entry: 'empty-dir',
    });
  });

  it('a heartbeat that finds the claim taken reports the holder', async () => {
    await claim('first');
    const lost = new Promise(resolve => {
      const stop = startHeartbeat(state, 'first', 5, holder => {
        stop();
        resolve(holder?.restore);
      });
    });
    await fsp.writeFile(
      path.join(root, '.kube-restore/restore-id'),
      'thief\nshards 1\n',
    );
    await expect(lost).resolves.toBe('thief');
  });
});

describe('StateDir', () => {
  it('refuses .kube-restore that is a link', async () => {
    const other = await fsp.mkdtemp(path.join(os.tmpdir(), 'kr-volume-link-'));
    const linked = await fsp.mkdtemp(path.join(os.tmpdir(), 'kr-volume-root-'));
    try {
      await fsp.symlink(other, path.join(linked, '.kube-restore'));
      await expect(StateDir.open(linked)).rejects.toMatchObject({
        code: 'UNSAFE_PATH',
      });
    } finally {
      await fsp.rm(other, { recursive: true, force: true });
      await fsp.rm(linked, { recursive: true, force: true });
    }
  });

  it('reads through its descriptor: a swapped-in link does not redirect it', async () => {
    await state.write('note', 'inside');
    // Someone renames the directory away and puts a link to another one in its place.
    const elsewhere = path.join(root, 'elsewhere');
    await fsp.mkdir(elsewhere);
    await fsp.writeFile(path.join(elsewhere, 'note'), 'outside');
    await fsp.rename(
      path.join(root, '.kube-restore'),
      path.join(root, 'moved'),
    );
    await fsp.symlink('elsewhere', path.join(root, '.kube-restore'));
    expect(await state.read('note')).toBe('inside');
  });

  describe('publish on a file system without hard links', () => {
    let secret: string;
    beforeEach(async () => {
      // link(2) refused, as on gcsfuse, s3fs or some SMB mounts: publish falls back to a copy.
      jest.spyOn(fsp, 'link').mockRejectedValue(
        Object.assign(new Error('EPERM: operation not permitted, link'), {
          code: 'EPERM',
        }),
      );
      secret = path.join(root, 'outside-token');
      await fsp.writeFile(secret, 'SECRET-SA-TOKEN\n');
    });
    afterEach(() => jest.restoreAllMocks());

    // A temporary written as a stream; `during` runs after the first line is written.
    async function* lines(during: () => Promise<void>) {
      yield '1\n';
      await during();
      yield '2\n';
    }
    const dir = () => path.join(root, '.kube-restore');
    const tmpName = async () =>
      (await fsp.readdir(dir())).find(n => n.startsWith('.tmp-'))!;

    it('copies the temporary it wrote, exclusively', async () => {
      const tmp = await state.temporary(lines(async () => undefined));
      expect(await state.publish(tmp, 'record')).toBe(true);
      expect(await state.read('record')).toBe('1\n2\n');
      expect(await state.publish(tmp, 'record')).toBe(false);
      await state.remove(tmp);
    });

    it('a temporary swapped for a link while it was written is refused, not followed', async () => {
      const tmp = await state.temporary(
        lines(async () => {
          const name = await tmpName();
          await fsp.unlink(path.join(dir(), name));
          await fsp.symlink(secret, path.join(dir(), name));
        }),
      );
      await expect(state.publish(tmp, 'record')).rejects.toMatchObject({
        code: 'UNSAFE_PATH',
      });
      expect(await state.lstat('record')).toBeUndefined();
      await state.remove(tmp);
    });

    it('a temporary swapped for another file while it was written is refused', async () => {
      const tmp = await state.temporary(
        lines(async () => {
          const name = await tmpName();
          await fsp.unlink(path.join(dir(), name));
          await fsp.copyFile(secret, path.join(dir(), name));
        }),
      );
      await expect(state.publish(tmp, 'record')).rejects.toMatchObject({
        code: 'UNSAFE_PATH',
      });
      expect(await state.lstat('record')).toBeUndefined();
      await state.remove(tmp);
    });

    it('a temporary swapped for a FIFO is refused without waiting for a writer', async () => {
      const tmp = await state.temporary(
        lines(async () => {
          const name = await tmpName();
          await fsp.unlink(path.join(dir(), name));
          execFileSync('mkfifo', [path.join(dir(), name)]);
        }),
      );
      await expect(state.publish(tmp, 'record')).rejects.toMatchObject({
        code: 'UNSAFE_PATH',
      });
      expect(await state.lstat('record')).toBeUndefined();
      await state.remove(tmp);
    });

    it('copies all of a record when the file system takes fewer bytes per write', async () => {
      const body = Array.from({ length: 20_000 }, (_, i) => `${i}\n`).join('');
      const tmp = await state.temporary(body);
      const open = fsp.open.bind(fsp);
      // every handle the copy opens writes at most 1000 bytes at a time, as some FUSE mounts do
      jest.spyOn(fsp, 'open').mockImplementation(async (...args) => {
        const fh = await open(...(args as Parameters<typeof fsp.open>));
        const write = fh.write.bind(fh) as (
          b: Buffer,
          o: number,
          l: number,
          p: number,
        ) => Promise<{ bytesWritten: number; buffer: Buffer }>;
        (fh as unknown as { write: typeof write }).write = (b, o, l, p) =>
          write(b, o, Math.min(l, 1000), p);
        return fh;
      });
      expect(await state.publish(tmp, 'record')).toBe(true);
      jest.restoreAllMocks();
      expect(await state.read('record')).toBe(body);
      await state.remove(tmp);
    });

    it('a link planted at the final name is not followed', async () => {
      const tmp = await state.temporary('1\n');
      await fsp.symlink(secret, path.join(dir(), 'record'));
      expect(await state.publish(tmp, 'record')).toBe(false);
      expect(await fsp.readFile(secret, 'utf8')).toBe('SECRET-SA-TOKEN\n');
      await state.remove(tmp);
    });
  });

  it('refuses to read a FIFO planted at a name, without waiting for a writer', async () => {
    execFileSync('mkfifo', [path.join(root, '.kube-restore', 'note')]);
    await expect(state.read('note')).rejects.toMatchObject({
      code: 'UNSAFE_PATH',
    });
  });

  it('publish by hard link refuses a temporary swapped for a link', async () => {
    const tmp = await state.temporary(
      (async function* swapped() {
        yield '1\n';
        const dir = path.join(root, '.kube-restore');
        const name = (await fsp.readdir(dir)).find(n => n.startsWith('.tmp-'))!;
        await fsp.unlink(path.join(dir, name));
        await fsp.symlink(path.join(root, 'x'), path.join(dir, name));
      })(),
    );
    await expect(state.publish(tmp, 'record')).rejects.toMatchObject({
      code: 'UNSAFE_PATH',
    });
    expect(await state.lstat('record')).toBeUndefined();
    await state.remove(tmp);
  });
});

describe('isCaseInsensitive', () => {
  /** A directory that folds case, as vfat, exFAT or casefolded ext4 do. */
  function foldingDir(): CaseProbeDir & { names: Set<string> } {
    const names = new Set<string>();
    return {
      names,
      touch: async name => {
        names.add(name.toLowerCase());
      },
      exists: async name => names.has(name.toLowerCase()),
      remove: async name => {
        names.delete(name.toLowerCase());
      },
    };
  }

  it('finds a folding directory (fake), and leaves no probe behind', async () => {
    const dir = foldingDir();
    expect(await isCaseInsensitive(dir)).toBe(true);
    expect(dir.names.size).toBe(0);
  });

  it("finds this machine's file system case-sensitive (real), and leaves no probe behind", async () => {
    expect(await isCaseInsensitive(state)).toBe(false);
    expect(await fsp.readdir(path.join(root, '.kube-restore'))).toEqual([]);
  });
});
