/** Entry point of the bundle (dist/restore-job.cjs): run main and exit with its code. */
import { main } from './main';

main().then(
  code => {
    process.exitCode = code;
    // Sockets and timers must not keep a finished restore alive.
    setTimeout(() => process.exit(code), 200).unref();
  },
  error => {
    process.stderr.write(
      `restore-job: unexpected error: ${(error as Error)?.stack ?? String(error)}\n`,
    );
    process.exit(1);
  },
);
