/**
 * @kube-restore/kubectl-restore: the `kubectl restore` plugin. Each command is an exported async
 * function with typed options and an injectable CommandIo; `main` is the yargs shell around them.
 */
export { main, buildParser } from './cli';
export { EXIT, CliError, exitCodeOf, formatError } from './errors';
export type { CommandIo, OutputStream } from './io';
export { bufferIo, processIo } from './io';
export type { GlobalOptions, Session, SessionFactory } from './session';
export { parseDuration } from './session';
export { sessionFactory } from './commands/connect';
export { createCommand } from './commands/create';
export type { CreateOptions } from './commands/create';
export { createNamespaceCommand } from './commands/createNamespace';
export { planCommand } from './commands/plan';
export { statusCommand, describeCommand } from './commands/status';
export { listCommand } from './commands/list';
export { logsCommand } from './commands/logs';
export { waitCommand } from './commands/wait';
export { deleteCommand } from './commands/delete';
export { existsCommand } from './commands/exists';
export { versionCommand } from './commands/version';
