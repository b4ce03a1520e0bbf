/**
 * `npm run image`: writes the job image (job-image/dist/restore-job.oci.tar) and the populator image
 * (packages/restore-populator/dist/populator.oci.tar) and prints, for each, its path and the image's
 * digest on stdout (progress on stderr).
 * `npm run image -- --pin-debian-packages`: pins the Debian packages to this machine's apt candidates.
 */
import { pinDebianPackages } from './debs';
import { buildJobImage } from './jobImage';
import { DEBIAN_PACKAGES, NodeImage } from './nodeImage';
import { buildPopulatorImage } from './populatorImage';
import { imageInputsDir } from './paths';

export async function main(
  argv: string[] = process.argv.slice(2),
): Promise<void> {
  const log = (line: string) => process.stderr.write(`[image] ${line}\n`);
  try {
    if (argv.length === 1 && argv[0] === '--pin-debian-packages') {
      for (const p of await pinDebianPackages(
        DEBIAN_PACKAGES,
        `${imageInputsDir()}/debian`,
      )) {
        log(
          `pinned ${p.name} ${p.version} (${p.architecture}) sha256:${p.sha256}`,
        );
      }
      return;
    }
    if (argv.length > 0)
      throw new Error(
        `unknown arguments: ${argv.join(' ')} (only --pin-debian-packages)`,
      );
    const builders: Array<() => Promise<NodeImage>> = [
      () => buildJobImage({ log }),
      () => buildPopulatorImage({ log }),
    ];
    for (const build of builders) {
      const started = Date.now();
      const image = await build();
      log(
        `${image.reference}: ${image.size} bytes in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
      process.stdout.write(`${image.path}\n${image.digest}\n`);
    }
  } catch (error) {
    log(`ERROR: ${(error as Error).message}`);
    process.exitCode = 1;
  }
}
