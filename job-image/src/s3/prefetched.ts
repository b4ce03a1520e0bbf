/**
 * Requests sent early, while the restore still sets up its volume (run.ts): at most one of each
 * kind. The first call of that kind takes it, and uses its result when it asks for the same thing
 * (once: a failure is then retried as any other); otherwise that call sends its own.
 */
export class Prefetched<Results extends Record<string, unknown>> {
  private readonly sent: {
    [K in keyof Results]?: { id: string; result: Promise<Results[K]> };
  } = {};

  put<K extends keyof Results>(
    kind: K,
    id: string,
    result: Promise<Results[K]>,
  ): void {
    // Not taken when the restore fails before it gets there; its caller sees any error.
    result.catch(() => undefined);
    this.sent[kind] = { id, result };
  }

  take<K extends keyof Results>(
    kind: K,
    id: string,
  ): Promise<Results[K]> | undefined {
    const sent = this.sent[kind];
    if (!sent) return undefined;
    delete this.sent[kind];
    return sent.id === id ? sent.result : undefined;
  }
}
