// npm run set-version -- X.Y.Z: writes X.Y.Z into the root package.json (the one version source) and
// every copy (release/src/versions.ts lists them), then checks that none disagrees.
import { disagreements, setVersion } from './versions.ts';

const version = process.argv[2];
if (!version) {
  process.stderr.write('usage: npm run set-version -- X.Y.Z\n');
  process.exit(2);
}
for (const file of setVersion(version)) process.stdout.write(`${file}\n`);
const left = disagreements(version);
if (left.length) {
  for (const c of left)
    process.stderr.write(
      `still ${JSON.stringify(c.value)}: ${c.file}: ${c.what}\n`,
    );
  process.exit(1);
}
