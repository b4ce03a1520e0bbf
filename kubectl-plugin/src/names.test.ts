/** The plugin's name checks are common's DNS-1123 rules, with the limits the API server applies. */
import { existsCommand } from './commands/exists';
import { bufferIo } from './io';
import { restoreNameArg } from './session';

describe('names the plugin accepts', () => {
  it('a restore name is a DNS-1123 label of at most 52 characters (the Job name limit of core)', () => {
    expect(restoreNameArg('restore/restore-data-1a2b3c4d')).toBe(
      'restore-data-1a2b3c4d',
    );
    expect(restoreNameArg('a'.repeat(52))).toBe('a'.repeat(52));
    expect(() => restoreNameArg('a'.repeat(53))).toThrow(
      /invalid restore name "a{53}": must be at most 52 characters \(got 53\)/,
    );
    expect(() => restoreNameArg('Data')).toThrow(/lower case letters/);
  });

  it.each([
    ['team-a/a..b', /PVC name "a\.\.b" must consist of/],
    ['team-a/-x', /PVC name "-x" must consist of/],
    [
      `${'n'.repeat(64)}/data`,
      /namespace "n{64}" must be at most 63 characters/,
    ],
    ['team_a/data', /namespace "team_a" must consist of/],
    ['a/b/c', /expected NAMESPACE\/PVC$/],
  ])(
    'exists refuses the target %s before anything is asked',
    async (target, message) => {
      const { io } = bufferIo();
      await expect(
        existsCommand(
          { target, from: 's3://backups/${namespace}/${pvc}/' },
          io,
        ),
      ).rejects.toThrow(message);
    },
  );
});
