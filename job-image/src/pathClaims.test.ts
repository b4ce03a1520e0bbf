import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { rng } from './__testUtils__/random';
import { compareUtf8, PathClaims } from './pathClaims';
import { PathRegistry } from './paths';

let dir: string;
let n = 0;
beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'kr-claims-'));
});
afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

const open = (foldCase = false) =>
  new PathClaims({ file: path.join(dir, `c${++n}`), foldCase });

type Claim = { rel: string; dir: boolean };

/** The index of the claim that throws PATH_CONFLICT, or -1; the checker is closed. */
function firstConflict(
  claims: Claim[],
  target: {
    claimFile(rel: string, entry: string): void;
    claimDir(rel: string, entry: string): void;
    close?(): void;
  },
): number {
  try {
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
  } finally {
    target.close?.();
  }
}

describe('PathClaims scratch file', () => {
  it('refuses a link planted at its file name, and writes nothing through it', async () => {
    const victim = path.join(dir, 'victim-empty');
    await fsp.writeFile(victim, '');
    const planted = path.join(dir, 'planted-claims');
    await fsp.symlink(victim, planted);
    expect(() => new PathClaims({ file: planted })).toThrow(
      expect.objectContaining({ code: 'UNSAFE_PATH' }),
    );
    expect((await fsp.stat(victim)).size).toBe(0);
    const dangling = path.join(dir, 'planted-dangling');
    const outside = path.join(dir, 'made-through-link');
    await fsp.symlink(outside, dangling);
    expect(() => new PathClaims({ file: dangling })).toThrow(
      expect.objectContaining({ code: 'UNSAFE_PATH' }),
    );
    await expect(fsp.lstat(outside)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('makes its file private to the job (mode 0600) and leaves no side file', async () => {
    const sub = await fsp.mkdtemp(path.join(dir, 'mode-'));
    const claims = new PathClaims({ file: path.join(sub, 'claims') });
    claims.claimFile('b', 'b');
    claims.claimFile('a', 'a');
    claims.claimDir('c', 'c/');
    expect((await fsp.stat(path.join(sub, 'claims'))).mode & 0o777).toBe(0o600);
    expect(await fsp.readdir(sub)).toEqual(['claims']);
    claims.close();
  });
});

describe('compareUtf8', () => {
  it('orders strings as their UTF-8 bytes do (S3 key order), surrogate pairs included', () => {
    const alphabet = [
      'a',
      'B',
      '/',
      '-',
      '0',
      'é',
      '\uffee',
      '😀',
      '\u{10400}',
    ];
    const strings: string[] = [];
    for (let i = 0; i < 400; i++) {
      let s = '';
      const len = (i * 7) % 5;
      for (let j = 0; j < len; j++)
        s += alphabet[(i * 31 + j * 17 + ((i * j) >> 2)) % alphabet.length];
      strings.push(s);
    }
    const byBytes = [...strings].sort((a, b) =>
      Buffer.compare(Buffer.from(a), Buffer.from(b)),
    );
    expect([...strings].sort(compareUtf8)).toEqual(byBytes);
    // UTF-16 order differs here: U+FFEE sorts after the surrogates of U+1F600 as code units.
    expect(compareUtf8('\uffee', '😀')).toBeLessThan(0);
    expect('\uffee' < '😀').toBe(false);
  });
});

describe('PathClaims in a sorted listing', () => {
  it('finds a file where a directory must go across names that sort between (F, F-x, F/y)', () => {
    const claims = open();
    claims.claimFile('a', 'p/a');
    claims.claimFile('a-x', 'p/a-x');
    claims.claimFile('a.b/c', 'p/a.b/c');
    expect(() => claims.claimFile('a/y', 'p/a/y')).toThrow(
      /"p\/a" is a file where a directory must go/,
    );
    expect(claims.inOrder).toBe(true);
    claims.close();
  });

  it('finds a folder marker on a file and a second key on one path', () => {
    const marker = open();
    marker.claimFile('d', 'd');
    expect(() => marker.claimDir('d', 'd/')).toThrow(/PATH_CONFLICT|file/);
    marker.close();
    const twice = open();
    twice.claimFile('x', 'x');
    expect(() => twice.claimFile('x', './x')).toThrow(
      /"x" lands on the same path/,
    );
    twice.close();
  });

  it('accepts directories claimed twice, files beside each other and deep trees', () => {
    const claims = open();
    claims.claimDir('', '');
    claims.claimDir('a', 'a/');
    claims.claimDir('a', 'a/');
    claims.claimFile('a/x', 'a/x');
    claims.claimFile('a/y/z', 'a/y/z');
    claims.claimFile('ab', 'ab');
    expect(claims.inOrder).toBe(true);
    claims.close();
  });
});

describe('PathClaims out of order (normalised keys, case folding)', () => {
  it('falls back to the table and still finds conflicts with claims from before', () => {
    const claims = open();
    claims.claimFile('b/c/d', 'b/c/d');
    claims.claimFile('c', 'c');
    // `./b/c` normalised to `b/c` arrives after `c`: out of order.
    expect(() => claims.claimFile('b/c', './b/c')).toThrow(
      /"b\/c" must be a directory for "b\/c\/d"/,
    );
    expect(claims.inOrder).toBe(false);
    claims.close();
  });

  it('after the fall-back, a file below an earlier file and a duplicate are refused', () => {
    const claims = open();
    claims.claimFile('m', 'm');
    claims.claimFile('a', 'a');
    expect(() => claims.claimFile('m/n', 'm/n')).toThrow(
      /"m" is a file where a directory must go/,
    );
    claims.close();
    const dup = open();
    dup.claimFile('q', 'q');
    dup.claimFile('p', 'p');
    expect(() => dup.claimFile('q', 'x//q')).toThrow(/lands on the same path/);
    dup.close();
  });

  it('folds case on a case-insensitive volume', () => {
    const claims = open(true);
    claims.claimFile('Readme', 'Readme');
    claims.claimFile('a', 'a');
    expect(() => claims.claimFile('README', 'README')).toThrow(
      /lands on the same path "readme"/,
    );
    claims.close();
  });
});

describe('PathClaims agrees with the in-memory PathRegistry', () => {
  const names = ['a', 'b', 'a-b', 'a.b', 'B', 'ab'];

  function randomClaims(r: () => number): Claim[] {
    const out: Claim[] = [];
    const count = 1 + Math.floor(r() * 12);
    for (let i = 0; i < count; i++) {
      const depth = 1 + Math.floor(r() * 3);
      const segs = Array.from(
        { length: depth },
        () => names[Math.floor(r() * names.length)],
      );
      out.push({ rel: segs.join('/'), dir: r() < 0.2 });
    }
    return out;
  }
  const claimString = (c: Claim) => (c.dir ? `${c.rel}/` : c.rel);

  it('on sorted and on shuffled claims, the same claim is refused (2,000 cases each)', () => {
    const r = rng(42);
    let conflicts = 0;
    for (let i = 0; i < 2000; i++) {
      const shuffled = randomClaims(r);
      const sorted = [...shuffled].sort((a, b) =>
        compareUtf8(claimString(a), claimString(b)),
      );
      for (const claims of [sorted, shuffled]) {
        const expected = firstConflict(claims, new PathRegistry());
        const checker = new PathClaims({ file: ':memory:' });
        expect(firstConflict(claims, checker)).toBe(expected);
        // A sorted stream is checked without reading the table back.
        expect(checker.inOrder || claims !== sorted).toBe(true);
        if (expected >= 0) conflicts++;
      }
    }
    // Both outcomes were exercised.
    expect(conflicts).toBeGreaterThan(200);
    expect(conflicts).toBeLessThan(3800);
  });
});
