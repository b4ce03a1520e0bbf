import { carryBlocks, findBlock, replaceBlock } from './results-file';

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
});
