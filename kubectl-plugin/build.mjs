// Bundles the plugin as two CommonJS files (client-node is ESM-only; esbuild turns it into CommonJS):
//   dist/kubectl-restore.cjs           the yargs shell, help and `version`: small, so they start fast
//   dist/kubectl-restore-commands.cjs  every command with core, the Kubernetes client and the AWS SDK,
//                                      required by the shell only when a command runs
//   node build.mjs
// With --sea, one more file for Node's single executable applications (npm run release): the shell and
// the commands in one bundle (an executable can require built-in modules only):
//   dist/sea/kubectl-restore.cjs
// `mainFields: module, main` takes the ES modules of packages that ship both (the AWS SDK), which
// esbuild can tree-shake: a command starts about 90 ms sooner (require of the commands bundle,
// median of 11: 464 -> 372 ms).
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'linked',
  minifySyntax: true,
  mainFields: ['module', 'main'],
  legalComments: 'linked',
  logLevel: 'info',
  // A kubectl plugin does not pass its dependencies' deprecation warnings (punycode and url.parse
  // from the Kubernetes client's HTTP stack, on Node 22 and later) on to the person at the terminal.
  banner: { js: 'process.noDeprecation = true;' },
};

/**
 * The shell's requires of `./commands` (cli.ts) and `./yaml` (output.ts) become requires of the
 * second bundle, which exports both (src/commands/index.ts re-exports stringifyYaml).
 */
const commandsBundle = {
  name: 'commands-bundle',
  setup(b) {
    b.onResolve({ filter: /^\.\/(commands|yaml)$/ }, args =>
      args.importer.startsWith(path.join(here, 'src'))
        ? { path: './kubectl-restore-commands.cjs', external: true }
        : undefined,
    );
  },
};

const sea = process.argv.includes('--sea');

await Promise.all([
  sea &&
    build({
      ...common,
      entryPoints: [path.join(here, 'src/bin.ts')],
      outfile: path.join(here, 'dist/sea/kubectl-restore.cjs'),
      sourcemap: false,
    }),
  build({
    ...common,
    entryPoints: [path.join(here, 'src/bin.ts')],
    outfile: path.join(here, 'dist/kubectl-restore.cjs'),
    plugins: [commandsBundle],
  }),
  build({
    ...common,
    entryPoints: [path.join(here, 'src/commands/index.ts')],
    outfile: path.join(here, 'dist/kubectl-restore-commands.cjs'),
  }),
]);
