import {
  expectedText,
  GeneratedFile,
  GeneratedFileUpdated,
} from './generatedFile';

function fakeFile(
  stored: string | undefined,
  actual: string,
  env: Record<string, string | undefined>,
) {
  const writes: string[] = [];
  const f: GeneratedFile = {
    file: 'x/__golden__/a.yaml',
    actual,
    updateVar: 'UPDATE_GOLDEN',
    env,
    read: () => stored,
    write: text => writes.push(text),
  };
  return { f, writes };
}

describe('expectedText', () => {
  it('returns the stored text and writes nothing without the update variable', () => {
    const { f, writes } = fakeFile('old', 'new', {});
    expect(expectedText(f)).toBe('old');
    expect(writes).toEqual([]);
  });

  it('fails on a missing file, naming how to create it', () => {
    const { f } = fakeFile(undefined, 'new', {});
    expect(() => expectedText(f)).toThrow(
      'x/__golden__/a.yaml is missing: run with UPDATE_GOLDEN=1 (not under CI), then review and commit it',
    );
  });

  it('rewrites a file that differs and then fails, so an update never passes', () => {
    const { f, writes } = fakeFile('old', 'new', { UPDATE_GOLDEN: '1' });
    expect(() => expectedText(f)).toThrow(GeneratedFileUpdated);
    expect(() => expectedText(f)).toThrow(
      'updated x/__golden__/a.yaml: review the diff (git diff), then run again without UPDATE_GOLDEN',
    );
    expect(writes).toEqual(['new', 'new']);
  });

  it('creates a missing file in update mode, and fails', () => {
    const { f, writes } = fakeFile(undefined, 'new', { UPDATE_GOLDEN: '1' });
    expect(() => expectedText(f)).toThrow(GeneratedFileUpdated);
    expect(writes).toEqual(['new']);
  });

  it('passes in update mode when nothing changed, writing nothing', () => {
    const { f, writes } = fakeFile('same', 'same', { UPDATE_GOLDEN: '1' });
    expect(expectedText(f)).toBe('same');
    expect(writes).toEqual([]);
  });

  it.each(['true', '1', 'yes'])(
    'refuses an update when CI=%s, before writing anything',
    ci => {
      const { f, writes } = fakeFile('old', 'new', {
        UPDATE_GOLDEN: '1',
        CI: ci,
      });
      expect(() => expectedText(f)).toThrow(
        'UPDATE_GOLDEN=1 is refused when CI is set',
      );
      expect(writes).toEqual([]);
    },
  );

  it('treats CI=false as not CI', () => {
    const { f, writes } = fakeFile('old', 'new', {
      UPDATE_GOLDEN: '1',
      CI: 'false',
    });
    expect(() => expectedText(f)).toThrow(GeneratedFileUpdated);
    expect(writes).toEqual(['new']);
  });
});
