/**
 * The fake core of the command tests: the real module, with its cluster and S3 calls replaced by mocks.
 * Used as `jest.mock('@kube-restore/core', () => require('./__testUtils__/fakeCore').fakeCore())`.
 */
export function fakeCore() {
  const actual = jest.requireActual('@kube-restore/core');
  return {
    ...actual,
    loadKubeConfig: jest.fn(() => ({ fake: 'kubeconfig' })),
    applyRequestTimeout: jest.fn(),
    createKubeClients: jest.fn(() => ({ fake: 'clients' })),
    resolveNamespace: jest.fn(
      (_kc: unknown, explicit?: string) => explicit ?? 'team-a',
    ),
    currentUserName: jest.fn(() => 'alice'),
    createRestore: jest.fn(),
    getRestore: jest.fn(),
    listRestores: jest.fn(),
    listRestoreSources: jest.fn(async () => []),
    listPopulatorRestores: jest.fn(async () => []),
    deleteRestore: jest.fn(),
    watchRestore: jest.fn(),
    restoreLogs: jest.fn(),
    restoreEvents: jest.fn(async () => []),
    sizeSource: jest.fn(),
    planRestore: jest.fn(),
    backupExists: jest.fn(),
  };
}

/** The calls that reach the cluster or S3: bad input must never get to them. */
export const CLUSTER_CALLS = [
  'createRestore',
  'getRestore',
  'listRestores',
  'listRestoreSources',
  'listPopulatorRestores',
  'deleteRestore',
  'watchRestore',
  'sizeSource',
  'planRestore',
] as const;
