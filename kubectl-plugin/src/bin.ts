/** Entry of the bundle (dist/kubectl-restore.cjs): runs the CLI and exits with its code. */
import { main } from './cli';

// A CLI user cannot act on the AWS SDK's notice about future Node versions; keep stderr for our errors.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

process.stdout.on('error', error => {
  if ((error as NodeJS.ErrnoException).code === 'EPIPE') process.exit(0);
});

main(process.argv.slice(2)).then(code => {
  // Exit once output is flushed: keep-alive sockets of the API client must not keep the process alive.
  process.stdout.write('', () => process.exit(code));
});
