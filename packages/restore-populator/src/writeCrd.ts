/* Writes deploy/populator/crd.yaml (run from the repository root by `npm run crd -w @kube-restore/populator`). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CRD_FILE, restoreSourceCrdYaml } from './crd';

// run from its bundle in packages/restore-populator/dist, never from a build of the package
// eslint-disable-next-line no-restricted-syntax
const file = path.resolve(__dirname, '..', '..', '..', CRD_FILE);
fs.writeFileSync(file, restoreSourceCrdYaml());
process.stdout.write(`wrote ${file}\n`);
