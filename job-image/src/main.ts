/**
 * restore-job: the program in every restore Job's pod.
 *
 * Inputs: the request as JSON in KUBE_RESTORE_REQUEST (or `--request FILE`), the volume at
 * KUBE_RESTORE_TARGET (default /data), TERMINATION_MESSAGE_PATH (default /dev/termination-log),
 * credentials only from the source the request names (credentials.ts). Output: JSON lines on stdout, the termination
 * message, and the exit code (0, EXIT_CODE_FATAL for what a retry cannot fix, 1 otherwise).
 */
import { setMaxListeners } from 'node:events';
import { promises as fsp, readFileSync, rmSync, writeFileSync } from 'node:fs';
import {
  DEFAULT_TARGET,
  DEFAULT_TERMINATION_MESSAGE_PATH,
  encodeTerminationMessage,
  ENV_ALLOW_SPECIAL_MODE_BITS,
  ENV_REQUEST,
  ENV_TARGET,
  ENV_TERMINATION_MESSAGE_PATH,
  exitCodeFor,
  parseRestoreRequest,
  RestoreRequest,
  RestoreRequestError,
} from '@kube-restore/common';
import { applyCredentialSources } from './credentials';
import { redact, RestoreError } from './errors';
import { Reporter } from './reporter';
import { RunOutcome, runRestore } from './run';
import { liveTemporaryFiles } from './temporaries';

/** How long after SIGTERM the program gives itself before it exits anyway (the default grace is 30 s). */
const STOP_GRACE_MS = 20_000;

function readRequestText(argv: string[], env: NodeJS.ProcessEnv): string {
  const i = argv.indexOf('--request');
  if (i >= 0) {
    const file = argv[i + 1];
    if (!file) throw new Error('--request needs a file name');
    return readFileSync(file, 'utf8');
  }
  const text = env[ENV_REQUEST];
  if (!text)
    throw new Error(
      `no request: set ${ENV_REQUEST} to the request JSON, or pass --request FILE`,
    );
  return text;
}

async function writeTermination(
  file: string,
  outcome: RunOutcome,
): Promise<void> {
  const line = redact(
    encodeTerminationMessage({
      phase: outcome.phase,
      code: outcome.code,
      message: outcome.message,
      objects: outcome.objects,
      objectsSkipped: outcome.objectsSkipped,
      bytes: outcome.bytes,
      durationMs: outcome.durationMs,
      manifest: outcome.manifest,
      entry: outcome.entry,
      failedPhase: outcome.failedPhase,
      shard: outcome.shard,
    }),
  );
  try {
    await fsp.writeFile(file, line);
  } catch (error) {
    process.stderr.write(
      `${redact(`cannot write the termination message to ${file}: ${(error as Error).message}`)}\n`,
    );
  }
}

export async function main(
  argv: string[] = process.argv.slice(2),
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  // Said once here instead of a multi-line stderr warning from the SDK in every pod's log.
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const terminationPath =
    env[ENV_TERMINATION_MESSAGE_PATH] || DEFAULT_TERMINATION_MESSAGE_PATH;
  const target = env[ENV_TARGET] || DEFAULT_TARGET;
  const reporter = new Reporter();
  const started = Date.now();

  let request: RestoreRequest;
  try {
    let json: unknown;
    const text = readRequestText(argv, env);
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new Error(`the request is not JSON: ${(error as Error).message}`);
    }
    request = parseRestoreRequest(json, {
      allowSpecialModeBits: env[ENV_ALLOW_SPECIAL_MODE_BITS] === 'true',
    });
  } catch (error) {
    const message =
      error instanceof RestoreRequestError
        ? error.message
        : (error as Error).message;
    reporter.log('error', message, { code: 'INVALID_REQUEST' });
    await writeTermination(terminationPath, {
      phase: 'Failed',
      code: 'INVALID_REQUEST',
      message,
      failedPhase: 'Planning',
      objects: 0,
      objectsSkipped: 0,
      bytes: 0,
      durationMs: Date.now() - started,
    });
    return exitCodeFor('INVALID_REQUEST');
  }

  try {
    applyCredentialSources(request.credentials, env);
  } catch (error) {
    const e = error as RestoreError;
    reporter.log('error', e.message, { code: e.code });
    await writeTermination(terminationPath, {
      phase: 'Failed',
      code: e.code,
      message: e.message,
      failedPhase: 'Planning',
      objects: 0,
      objectsSkipped: 0,
      bytes: 0,
      durationMs: Date.now() - started,
    });
    return exitCodeFor(e.code);
  }

  const stop = new AbortController();
  setMaxListeners(0, stop.signal);
  let forced: NodeJS.Timeout | undefined;
  const onSignal = (name: string) => {
    if (stop.signal.aborted) return;
    reporter.log(
      'warn',
      `${name}: stopping (no new objects; temporaries discarded; manifest flushed)`,
      {},
    );
    stop.abort();
    forced = setTimeout(() => {
      // Still here: say so and leave; the next attempt resumes from the manifest.
      for (const tmp of liveTemporaryFiles()) {
        try {
          rmSync(tmp, { force: true });
        } catch {
          // best effort
        }
      }
      const line = encodeTerminationMessage({
        phase: 'Failed',
        code: 'CANCELLED',
        message: `stopped by ${name}; did not finish within ${STOP_GRACE_MS / 1000}s`,
        durationMs: Date.now() - started,
      });
      try {
        writeFileSync(terminationPath, line);
      } catch {
        // nothing more to do
      }
      process.exit(exitCodeFor('CANCELLED'));
    }, STOP_GRACE_MS);
    forced.unref();
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));

  const outcome = await runRestore({
    request,
    target,
    env,
    signal: stop.signal,
    reporter,
  });
  await writeTermination(terminationPath, outcome);
  if (forced) clearTimeout(forced);
  return exitCodeFor(outcome.code);
}
