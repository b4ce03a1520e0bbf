/**
 * @kube-restore/common: the isomorphic contracts of kube-restore, shared by the browser,
 * the kubectl plugin, the Backstage backend, core and the job program.
 */
export * from './phases';
export * from './labels';
export * from './names';
export * from './quantity';
export * from './sourceUrl';
export * from './request';
export * from './requestOptions';
export * from './tuningDefaults';
export * from './fieldProblems';
export * from './restoreSource';
export * from './termination';
export * from './progress';
export * from './glacier';
export * from './status';
export * from './filter';
export * from './plan';
// the rule of the tests' golden and generated files (pure; the caller reads and writes)
export * from './generatedFile';
export * from './versions';
