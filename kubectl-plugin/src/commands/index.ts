/** Every command, loaded together on first use (a separate bundle: dist/kubectl-restore-commands.cjs). */
export { createCommand } from './create';
export { createNamespaceCommand } from './createNamespace';
export { planCommand } from './plan';
export { statusCommand, describeCommand } from './status';
export { listCommand } from './list';
export { logsCommand } from './logs';
export { waitCommand } from './wait';
export { deleteCommand } from './delete';
export { existsCommand } from './exists';
export { versionCommand } from './version';
export { completeCommand, COMPLETION_SCRIPT } from './complete';
export { connect, sessionFactory } from './connect';
export { stringifyYaml } from '../yaml';
