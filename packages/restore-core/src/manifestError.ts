/** The error every pure manifest builder throws for a request it cannot turn into manifests. */
export class ManifestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ManifestError';
  }
}
