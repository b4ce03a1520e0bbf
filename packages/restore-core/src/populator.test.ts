import { primePvcName, restoreSourceOf } from './populator';

const pvc = (dataSourceRef: any, namespace = 'team-a') => ({
  metadata: { name: 'data', namespace, uid: '1234-abcd' },
  spec: { dataSourceRef },
});

describe('restoreSourceOf', () => {
  it('names the RestoreSource of a PVC that refers to one in its namespace', () => {
    expect(
      restoreSourceOf(
        pvc({
          apiGroup: 'kube-restore.io',
          kind: 'RestoreSource',
          name: 'seed',
        }),
      ),
    ).toBe('seed');
    expect(
      restoreSourceOf(
        pvc({
          apiGroup: 'kube-restore.io',
          kind: 'RestoreSource',
          name: 'seed',
          namespace: 'team-a',
        }),
      ),
    ).toBe('seed');
  });

  it('leaves other data sources, and RestoreSources of other namespaces, alone', () => {
    expect(restoreSourceOf(pvc(undefined))).toBeUndefined();
    expect(
      restoreSourceOf(pvc({ kind: 'PersistentVolumeClaim', name: 'other' })),
    ).toBeUndefined();
    expect(
      restoreSourceOf(
        pvc({ apiGroup: 'example.com', kind: 'RestoreSource', name: 'x' }),
      ),
    ).toBeUndefined();
    expect(
      restoreSourceOf(
        pvc({
          apiGroup: 'kube-restore.io',
          kind: 'RestoreSource',
          name: 'seed',
          namespace: 'team-b',
        }),
      ),
    ).toBeUndefined();
  });

  it('names the prime PVC after the user PVC uid', () => {
    expect(primePvcName(pvc(undefined))).toBe('prime-1234-abcd');
  });
});
