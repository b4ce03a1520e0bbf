import { initialForm, toRestoreBody, validateForm } from './form';

const ref = 'component:default/shop';

describe('validateForm', () => {
  it('needs a source and a valid PVC name', () => {
    expect(validateForm(initialForm)).toEqual({
      source: 'choose a source',
      pvc: 'must not be empty',
    });
    expect(validateForm({ ...initialForm, source: 's', pvc: 'data' })).toEqual(
      {},
    );
  });

  it('checks sizes, storage class, paths and parallelism', () => {
    const problems = validateForm({
      ...initialForm,
      source: 's',
      pvc: 'data',
      size: '0',
      storageClassName: 'Fast_SSD',
      prefix: '/abs/',
      parallelism: '65',
      asOf: 'yesterday',
    });
    expect(Object.keys(problems).sort()).toEqual([
      'asOf',
      'parallelism',
      'prefix',
      'size',
      'storageClassName',
    ]);
    expect(problems.size).toBe('must be more than 0');
  });

  it('ignores size and storage class of an existing PVC', () => {
    expect(
      validateForm({
        ...initialForm,
        source: 's',
        pvc: 'data',
        mode: 'existing',
        size: 'nonsense',
        storageClassName: 'BAD',
      }),
    ).toEqual({});
  });
});

describe('toRestoreBody', () => {
  it('sends only what differs from the defaults', () => {
    expect(
      toRestoreBody({ ...initialForm, source: 'nightly', pvc: 'data' }, ref),
    ).toEqual({
      entityRef: ref,
      source: { name: 'nightly' },
      target: { pvc: 'data', mode: 'new', size: 'auto' },
    });
  });

  it('maps every field', () => {
    expect(
      toRestoreBody(
        {
          ...initialForm,
          source: 'nightly',
          prefix: 'db/',
          pvc: 'data',
          mode: 'existing',
          conflict: 'skip-existing',
          format: 'objects',
          include: '*.sql\n*.gz',
          exclude: 'tmp/**',
          stripPrefix: 'db/',
          asOf: '2026-11-20T10:00:00Z',
          archiveTier: 'Bulk',
          verify: false,
          parallelism: '4',
        },
        ref,
      ),
    ).toEqual({
      entityRef: ref,
      source: {
        name: 'nightly',
        path: 'db/',
        format: 'objects',
        include: ['*.sql', '*.gz'],
        exclude: ['tmp/**'],
        stripPrefix: 'db/',
        asOf: '2026-11-20T10:00:00.000Z',
        archiveTier: 'Bulk',
      },
      target: { pvc: 'data', mode: 'existing', conflict: 'skip-existing' },
      options: { verify: false, parallelism: 4 },
    });
  });
});
