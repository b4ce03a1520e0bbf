// Exits 1 naming each copy of the version that disagrees with the root package.json; prints the version.
import { disagreements, sourceVersion } from './versions.ts';

const version = sourceVersion();
const wrong = disagreements(version);
for (const c of wrong)
  process.stderr.write(
    `${c.file}: ${c.what} is ${JSON.stringify(c.value)}, the root package.json says ${version}\n`,
  );
if (wrong.length) process.exit(1);
process.stdout.write(`${version}\n`);
