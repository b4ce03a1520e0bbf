/** The shell built from the tables: every flag a command's table lists is in its help, and parsed into its options. */
import { buildParser } from './cli';
import { COMMAND_SPECS } from './commandSpecs';
import { readFlags } from './flagTable';
import { REQUEST_FLAGS } from './flags';

const visible = COMMAND_SPECS.filter(c => c.describe !== false);

function help(command: string): Promise<string> {
  return new Promise(resolve => {
    buildParser([], () => undefined).parse(
      [command, '--help'],
      {},
      (_error, _argv, output) => resolve(output),
    );
  });
}

describe('the shell', () => {
  it.each(visible.map(c => c.names[0]))(
    '%s --help lists every flag of its table',
    async name => {
      const text = await help(name);
      expect(text).toContain(`kubectl restore ${name}`);
      const spec = visible.find(c => c.names[0] === name)!;
      for (const flag of Object.keys(spec.flags))
        expect(text).toContain(`--${flag} `);
    },
  );

  it('reads flags as their table says: camelCase, lists for repeatable ones', () => {
    expect(
      readFlags(REQUEST_FLAGS, {
        'strip-prefix': 'a/',
        include: 'x',
        'existing-pvc': true,
        uid: 1000,
      }),
    ).toMatchObject({
      stripPrefix: 'a/',
      include: ['x'],
      existingPvc: true,
      uid: '1000',
      from: undefined,
    });
  });
});
