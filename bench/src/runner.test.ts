import { Case, filterTools, selectCases } from './runner';

function aCase(dataset: string, label: string, tool: Case['command']['tool']) {
  return {
    dataset,
    kind: tool === 'job' ? 'job' : 'peer',
    command: {
      label,
      tool,
      argv: [tool],
      env: { PATH: '/usr/bin' },
      display: `${tool} ${dataset}`,
    },
  } as Case;
}

describe('filterTools', () => {
  const cases = [
    aCase('a', 'job', 'job'),
    aCase('a', 's5cmd c=64', 's5cmd'),
    aCase('a', 'limit', 'limit'),
  ];

  it('keeps every case when no tools are named', () => {
    expect(filterTools(cases, undefined)).toBe(cases);
  });

  it('keeps a case by its tool or by the start of its label', () => {
    expect(filterTools(cases, ['job']).map(c => c.command.label)).toEqual([
      'job',
    ]);
    expect(filterTools(cases, ['s5cmd c=']).map(c => c.command.label)).toEqual([
      's5cmd c=64',
    ]);
    expect(filterTools(cases, ['rclone'])).toEqual([]);
  });
});

describe('selectCases', () => {
  it("gives the job's cases the extra environment and records each kept case's command", () => {
    const cases = [
      aCase('a', 'job', 'job'),
      aCase('a', 'mc', 'mc'),
      aCase('b', 'job', 'job'),
      aCase('b', 'rclone', 'rclone'),
    ];
    const commands: Record<string, Record<string, string>> = {
      c: { job: 'kept' },
    };
    const selected = selectCases(cases, {
      tools: ['job', 'mc'],
      jobEnv: { KUBE_RESTORE_X: '1' },
      commands,
    });
    expect(selected.map(c => `${c.dataset} ${c.command.label}`)).toEqual([
      'a job',
      'a mc',
      'b job',
    ]);
    expect(selected[0].command.env).toEqual({
      PATH: '/usr/bin',
      KUBE_RESTORE_X: '1',
    });
    expect(selected[1].command.env).toEqual({ PATH: '/usr/bin' });
    expect(commands).toEqual({
      a: { job: 'job a', mc: 'mc a' },
      b: { job: 'job b' },
      c: { job: 'kept' },
    });
  });
});
