/**
 * The one rule for files a test compares its output with (golden files, the generated md5Wasm.ts):
 * normally the stored text is what the test expects; with `<updateVar>=1` a file that differs is
 * rewritten and the test fails ("updated: review the diff"), so a run that updates never passes as
 * a check; under CI=true an update is refused. Pure: the caller reads and writes the file.
 */

export interface GeneratedFile {
  /** the file's path, for messages */
  file: string;
  /** the text the code under test produced now */
  actual: string;
  /** the environment variable that asks for an update, e.g. UPDATE_GOLDEN */
  updateVar: string;
  /** the caller's environment (process.env) */
  env: Record<string, string | undefined>;
  /** the stored text, or undefined when there is no file */
  read(): string | undefined;
  write(text: string): void;
}

/** Thrown after an update mode rewrote a file: the run must fail until someone reviews the diff. */
export class GeneratedFileUpdated extends Error {
  constructor(file: string, updateVar: string) {
    super(
      `updated ${file}: review the diff (git diff), then run again without ${updateVar}`,
    );
    this.name = 'GeneratedFileUpdated';
  }
}

function isCi(env: Record<string, string | undefined>): boolean {
  const ci = env.CI;
  return ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0';
}

/**
 * The text to compare `actual` with (the caller asserts equality, for a readable diff). Throws when
 * the file is missing, when an update is asked for under CI, and after rewriting a file that differed.
 */
export function expectedText(f: GeneratedFile): string {
  const stored = f.read();
  if (f.env[f.updateVar] === '1') {
    if (isCi(f.env))
      throw new Error(
        `${f.updateVar}=1 is refused when CI is set: update ${f.file} locally and commit the reviewed diff`,
      );
    if (stored !== f.actual) {
      f.write(f.actual);
      throw new GeneratedFileUpdated(f.file, f.updateVar);
    }
    return stored;
  }
  if (stored === undefined)
    throw new Error(
      `${f.file} is missing: run with ${f.updateVar}=1 (not under CI), then review and commit it`,
    );
  return stored;
}
