declare module 'postject' {
  /** Injects `data` as resource `name` into the executable `file` and flips `sentinelFuse` to :1. */
  export function inject(
    file: string,
    name: string,
    data: Buffer,
    options?: {
      sentinelFuse?: string;
      overwrite?: boolean;
      machoSegmentName?: string;
    },
  ): Promise<void>;
}
