import {
  carryBlocks,
  findBlock,
  removeBlock,
  replaceBlock,
} from './results-file';

describe('RESULTS.md blocks', () => {
  it('appends a block, then replaces only that block', () => {
    const one = replaceBlock('# Results\n\nloopback\n', 'region', 'R1');
    expect(one).toBe(
      '# Results\n\nloopback\n\n<!-- bench:region:begin -->\nR1\n<!-- bench:region:end -->\n',
    );
    const two = replaceBlock(one, 'scale', 'S1');
    const three = replaceBlock(two, 'region', 'R2 with $& and $1');
    expect(findBlock(three, 'region')).toContain('R2 with $& and $1');
    expect(findBlock(three, 'scale')).toContain('S1');
    expect(three).not.toContain('R1');
    expect(three.startsWith('# Results\n\nloopback\n')).toBe(true);
  });

  it('carries the other modes’ blocks into a new loopback report', () => {
    const old = replaceBlock(
      replaceBlock(
        replaceBlock('# old loopback\n', 'region', 'R'),
        'scale',
        'S',
      ),
      'scale-list',
      'L',
    );
    const next = carryBlocks(old, '# new loopback\n');
    expect(next).toContain('# new loopback');
    expect(next).not.toContain('# old loopback');
    expect(findBlock(next, 'region')).toBe(findBlock(old, 'region'));
    expect(findBlock(next, 'scale')).toBe(findBlock(old, 'scale'));
    expect(findBlock(next, 'scale-list')).toBe(findBlock(old, 'scale-list'));
    expect(findBlock(next, 'scale')).not.toContain('L');
    expect(carryBlocks('# nothing\n', '# new\n')).toBe('# new\n');
  });

  it('removes one block and keeps the rest', () => {
    const text = replaceBlock(
      replaceBlock('# R\n\nloopback\n', 'scale', 'S'),
      'scale-list',
      'L',
    );
    const without = removeBlock(text, 'scale-list');
    expect(findBlock(without, 'scale-list')).toBeUndefined();
    expect(findBlock(without, 'scale')).toBe(findBlock(text, 'scale'));
    expect(without).toBe(replaceBlock('# R\n\nloopback\n', 'scale', 'S'));
    expect(removeBlock(without, 'scale-list')).toBe(without);
    const middle = replaceBlock(
      replaceBlock(replaceBlock('# R\n', 'region', 'G'), 'scale-list', 'L'),
      'scale',
      'S',
    );
    expect(removeBlock(middle, 'scale-list')).toBe(
      replaceBlock(replaceBlock('# R\n', 'region', 'G'), 'scale', 'S'),
    );
  });
});
