/**
 * YAML text. Bundled with the commands: dist/kubectl-restore-commands.cjs re-exports it, and the
 * shell's bundle requires that instead of carrying the yaml package (build.mjs).
 */
export { stringify as stringifyYaml } from 'yaml';
