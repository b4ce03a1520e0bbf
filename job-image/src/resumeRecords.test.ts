import { ResumeRecords } from './resumeRecords';

describe('ResumeRecords', () => {
  it('finds recorded keys, the last record of a key winning, and counts keys', () => {
    const r = new ResumeRecords(':memory:');
    r.add({ key: 'a', path: 'a', size: 1, etag: '"e1"' });
    r.add({ key: 'b', path: 'x/b', size: 2, version: 'v1' });
    r.add({ key: 'a', path: 'a', size: 3, etag: '"e2"' });
    r.seal();
    expect(r.size).toBe(2);
    expect(r.get('a')).toEqual({
      key: 'a',
      path: 'a',
      size: 3,
      etag: '"e2"',
      version: undefined,
    });
    expect(r.get('b')).toMatchObject({ path: 'x/b', version: 'v1' });
    expect(r.get('c')).toBeUndefined();
    r.close();
  });

  it('looks a key up among 200,000 records', () => {
    const r = new ResumeRecords(':memory:');
    for (let i = 0; i < 200_000; i++)
      r.add({ key: `k/${String(i).padStart(7, '0')}`, path: `${i}`, size: i });
    r.seal();
    expect(r.size).toBe(200_000);
    expect(r.get('k/0123456')).toMatchObject({ path: '123456', size: 123456 });
    r.close();
  });
});
