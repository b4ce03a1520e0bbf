/**
 * The control client (controlClient.ts), loaded at its first use. In the job's bundle it comes
 * from `control-client.cjs` beside the program, a bundle of its own (build.mjs, the Dockerfile,
 * image/jobImage.ts), so that the program neither compiles nor evaluates the AWS SDK at start;
 * bundle.json marks `./controlClient` external, which keeps the SDK out of the program's bundle.
 * Under the tests (the TypeScript sources) it is the source module.
 */
import path from 'node:path';
import type * as ControlClientModule from './controlClient';

export const CONTROL_CLIENT_FILE = 'control-client.cjs';

export function loadControlClient(): typeof ControlClientModule {
  /* eslint-disable @typescript-eslint/no-require-imports, no-restricted-syntax -- loaded at its
     first use, from the bundle's own directory (esbuild keeps __filename and __dirname) */
  return __filename.endsWith('.cjs')
    ? require(path.join(__dirname, CONTROL_CLIENT_FILE))
    : require('./controlClient');
  /* eslint-enable @typescript-eslint/no-require-imports, no-restricted-syntax */
}
