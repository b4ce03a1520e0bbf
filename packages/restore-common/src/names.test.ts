import {
  canonicalJson,
  dns1123LabelProblem,
  dns1123SubdomainProblem,
  stableHash,
} from './names';

describe('name rules', () => {
  it.each(['a', 'team-a', 'a1', '0'])('%s is a label', v =>
    expect(dns1123LabelProblem(v)).toBeUndefined(),
  );
  it.each(['', 'A', '-a', 'a-', 'a.b', 'a_b', 'x'.repeat(64)])(
    '%j is not a label',
    v => expect(dns1123LabelProblem(v)).toBeDefined(),
  );
  it.each(['a.b', 'data-v1.2'])('%s is a subdomain', v =>
    expect(dns1123SubdomainProblem(v)).toBeUndefined(),
  );
  it.each(['a..b', '.a', 'A.b', 'x'.repeat(254)])('%j is not a subdomain', v =>
    expect(dns1123SubdomainProblem(v)).toBeDefined(),
  );
});

describe('stableHash and canonicalJson', () => {
  it('ignores key order and matches the FNV-1a 64 reference value', () => {
    expect(canonicalJson({ b: 1, a: { d: 2, c: 3 } })).toBe(
      '{"a":{"c":3,"d":2},"b":1}',
    );
    expect(stableHash('')).toBe('cbf29ce484222325');
    expect(stableHash('a')).toBe('af63dc4c8601ec8c');
  });
});
