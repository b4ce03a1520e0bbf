import { createKeyFilter, relativeKey } from './filter';

describe('createKeyFilter', () => {
  it('takes everything without globs', () => {
    expect(createKeyFilter({})('any/thing.bin')).toBe(true);
  });

  it('applies include, then exclude', () => {
    const filter = createKeyFilter({
      include: ['**/*.csv', 'meta.json'],
      exclude: ['tmp/**'],
    });
    expect(filter('a/b/c.csv')).toBe(true);
    expect(filter('c.csv')).toBe(true);
    expect(filter('meta.json')).toBe(true);
    expect(filter('tmp/x.csv')).toBe(false);
    expect(filter('a/b/c.parquet')).toBe(false);
  });

  it('matches dot files and keys with spaces and unicode', () => {
    expect(
      createKeyFilter({ include: ['**/*.txt'] })('.hidden/ファイル name.txt'),
    ).toBe(true);
    expect(createKeyFilter({ exclude: ['**/.*'] })('a/.env')).toBe(false);
  });
});

describe('relativeKey', () => {
  it('strips the prefix only when it is there', () => {
    expect(relativeKey('data/a/b', 'data/')).toBe('a/b');
    expect(relativeKey('other/a', 'data/')).toBe('other/a');
    expect(relativeKey('a', '')).toBe('a');
  });
});
