/** `-o json|yaml|name` as kubectl prints them. */
import { invalid } from './errors';
import { OutputStream } from './io';

export type OutputFormat = 'json' | 'yaml' | 'name' | 'wide';

/** Checks `-o` against what the command supports; undefined means the command's table or text. */
export function outputFormat<F extends OutputFormat>(
  value: string | undefined,
  allowed: F[],
): F | undefined {
  if (value === undefined || value === '') return undefined;
  if (!(allowed as string[]).includes(value)) {
    throw invalid(
      `unsupported output format "${value}": this command prints ${allowed.map(a => `-o ${a}`).join(', ')}`,
    );
  }
  return value as F;
}

/** Several objects as one document: a `kind: List`, which `kubectl apply -f -` accepts. */
export function asList(
  items: unknown[],
  apiVersion = 'v1',
  kind = 'List',
): Record<string, unknown> {
  return { apiVersion, kind, metadata: {}, items };
}

export function printData(
  stream: OutputStream,
  format: 'json' | 'yaml',
  value: unknown,
): void {
  if (format === 'json') stream.write(`${JSON.stringify(value, null, 2)}\n`);
  else {
    // Loaded here, not above: in the shell's bundle this require is the commands bundle (build.mjs),
    // so the shell that serves `--help` and `version` stays small.
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { stringifyYaml } = require('./yaml') as typeof import('./yaml');
    stream.write(stringifyYaml(value, { lineWidth: 0 }));
  }
}

/**
 * Manifests to apply: YAML documents separated by `---` (as they are kept in Git), or in JSON one
 * `kind: List`; `kubectl apply -f` takes either.
 */
export function printDocuments(
  stream: OutputStream,
  format: 'json' | 'yaml',
  items: unknown[],
): void {
  if (format === 'json') printData(stream, format, asList(items));
  else
    items.forEach((item, i) => {
      if (i > 0) stream.write('---\n');
      printData(stream, format, item);
    });
}
