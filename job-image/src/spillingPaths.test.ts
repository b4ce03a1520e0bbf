import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { rng } from './__testUtils__/random';
import { PathRegistry } from './paths';
import { SpillingPathRegistry } from './spillingPaths';
import { SpillSet } from './spillSet';

let dir: string;
let n = 0;
beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'kr-spill-'));
});
afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});
const spillFile = () => path.join(dir, `s${++n}`);

type Claim = { rel: string; dir: boolean };

/** The index of the claim that throws PATH_CONFLICT, or -1. */
function firstConflict(
  claims: Claim[],
  target: {
    claimFile(rel: string, entry: string): void;
    claimDir(rel: string, entry: string): void;
  },
): number {
  for (const [i, c] of claims.entries()) {
    try {
      if (c.dir) target.claimDir(c.rel, `k${i}`);
      else target.claimFile(c.rel, `k${i}`);
    } catch (error) {
      expect((error as { code?: string }).code).toBe('PATH_CONFLICT');
      return i;
    }
  }
  return -1;
}

describe('SpillingPathRegistry agrees with the in-memory PathRegistry', () => {
  const names = ['a', 'b', 'a-b', 'a.b', 'B', 'ab', 'a0'];
  function randomClaims(r: () => number): Claim[] {
    const out: Claim[] = [];
    const count = 1 + Math.floor(r() * 16);
    for (let i = 0; i < count; i++) {
      const depth = 1 + Math.floor(r() * 3);
      const segs = Array.from(
        { length: depth },
        () => names[Math.floor(r() * names.length)],
      );
      out.push({ rel: segs.join('/'), dir: r() < 0.25 });
    }
    return out;
  }

  it.each([false, true])(
    'refuses the same claim, before, at and after the move to disk (3,000 cases, foldCase %s)',
    foldCase => {
      const r = rng(foldCase ? 7 : 42);
      let conflicts = 0;
      let spilledBeforeConflict = 0;
      for (let i = 0; i < 3000; i++) {
        const claims = randomClaims(r);
        const expected = firstConflict(claims, new PathRegistry({ foldCase }));
        // The move happens after a random number of claims (0: the first claim spills).
        const memoryLimit = Math.floor(r() * 6);
        const spilling = new SpillingPathRegistry({
          foldCase,
          spillFile,
          memoryLimit,
        });
        try {
          expect(firstConflict(claims, spilling)).toBe(expected);
          if (expected >= 0) conflicts++;
          if (expected > 0 && spilling.spilled) spilledBeforeConflict++;
        } finally {
          spilling.close();
        }
      }
      expect(conflicts).toBeGreaterThan(300);
      expect(conflicts).toBeLessThan(2700);
      // Conflicts were found in the table, not only in memory.
      expect(spilledBeforeConflict).toBeGreaterThan(300);
    },
  );

  it('moves to one file in the scratch directory past the limit, and removes it when closed', async () => {
    const sub = await fsp.mkdtemp(path.join(dir, 'one-'));
    const registry = new SpillingPathRegistry({
      spillFile: () => path.join(sub, 'paths'),
      memoryLimit: 10,
    });
    for (let i = 0; i < 9; i++) registry.claimFile(`d/f${i}`, `d/f${i}`);
    expect(registry.spilled).toBe(false);
    registry.claimFile('d/f9', 'd/f9');
    registry.claimFile('e/f0', 'e/f0');
    expect(registry.spilled).toBe(true);
    expect(await fsp.readdir(sub)).toEqual(['paths']);
    // What was claimed in memory is in the table: a file below a file, a second entry on a path.
    expect(() => registry.claimFile('d/f3/x', 'x')).toThrow(
      /"d\/f3" is a file where a directory must go/,
    );
    expect(() => registry.claimDir('d/f5', 'y')).toThrow(/PATH_CONFLICT|file/);
    expect(() => registry.claimFile('d', 'z')).toThrow(/must be a directory/);
    registry.close();
    expect(await fsp.readdir(sub)).toEqual([]);
  });

  it('stays in memory without a scratch file, whatever the count', () => {
    const registry = new SpillingPathRegistry({ memoryLimit: 1 });
    for (let i = 0; i < 100; i++) registry.claimFile(`f${i}`, `f${i}`);
    expect(registry.spilled).toBe(false);
    expect(() => registry.claimFile('f7', 'again')).toThrow(/same path/);
  });
});

describe('SpillSet', () => {
  it('refuses a link planted at its file name, and writes nothing through it', async () => {
    const victim = path.join(dir, 'victim-empty');
    await fsp.writeFile(victim, '');
    const planted = path.join(dir, 'planted-spill');
    await fsp.symlink(victim, planted);
    const set = new SpillSet({ spillFile: () => planted, memoryLimit: 2 });
    set.add('1');
    set.add('2');
    expect(() => set.add('3')).toThrow(
      expect.objectContaining({ code: 'UNSAFE_PATH' }),
    );
    expect((await fsp.stat(victim)).size).toBe(0);
    expect((await fsp.lstat(planted)).isSymbolicLink()).toBe(true);
  });

  it('answers the same in memory and on disk, across the move', () => {
    const r = rng(3);
    const values = Array.from({ length: 2000 }, () =>
      String(Math.floor(r() * 5000)),
    );
    const inMemory = new Set<string>();
    const set = new SpillSet({ spillFile, memoryLimit: 500 });
    let spilledAt700 = false;
    try {
      for (const [i, v] of values.entries()) {
        if (i === 700) spilledAt700 = set.spilled;
        const probe = String(Math.floor(r() * 5000));
        expect(set.has(probe)).toBe(inMemory.has(probe));
        set.add(v);
        inMemory.add(v);
      }
      for (let v = 0; v < 5000; v++)
        expect(set.has(String(v))).toBe(inMemory.has(String(v)));
      expect(set.size).toBe(inMemory.size);
      expect(spilledAt700).toBe(true);
    } finally {
      set.close();
    }
  });
});
