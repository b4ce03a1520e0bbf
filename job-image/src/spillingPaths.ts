/**
 * The path-conflict check for claims that come in no order (a tar archive's entries), in bounded
 * memory: the in-memory `PathRegistry` up to a limit, then pathClaims.ts's table in the scratch
 * directory, checked claim by claim (its ancestors, itself, the range below it).
 *
 * An archive of up to the limit never touches the disk. At the limit, the claims held move into the
 * table (each directory, named or only implied by a path below it, as `d/`; each file as `f`) and
 * the registry is let go, so the conflicts found are the same either way.
 */
import { rmSync } from 'node:fs';
import { PathClaims } from './pathClaims';
import { PathRegistry } from './paths';
import { DEFAULT_SPILL_LIMIT, type SpillOptions } from './spillSet';

export class SpillingPathRegistry {
  private memory: PathRegistry | undefined;
  private disk: PathClaims | undefined;
  private file: string | undefined;
  private readonly foldCase: boolean;
  private readonly limit: number;

  constructor(private readonly options: SpillOptions & { foldCase?: boolean }) {
    this.foldCase = options.foldCase ?? false;
    this.limit = options.memoryLimit ?? DEFAULT_SPILL_LIMIT;
    this.memory = new PathRegistry({ foldCase: this.foldCase });
  }

  /** True once the claims live in the table. */
  get spilled(): boolean {
    return this.disk !== undefined;
  }

  /** Claims `rel` for a file from `entry`; throws PATH_CONFLICT. */
  claimFile(rel: string, entry: string): void {
    if (this.disk) {
      this.disk.claimFile(rel, entry);
      return;
    }
    this.memory!.claimFile(rel, entry);
    this.spillIfFull();
  }

  /** Claims `rel` as a directory; the root ('') is always one. */
  claimDir(rel: string, entry: string): void {
    if (this.disk) {
      this.disk.claimDir(rel, entry);
      return;
    }
    this.memory!.claimDir(rel, entry);
    this.spillIfFull();
  }

  /** Lets the table go and removes its file. */
  close(): void {
    if (!this.disk) return;
    this.disk.close();
    rmSync(this.file!, { force: true });
  }

  private spillIfFull(): void {
    const memory = this.memory!;
    if (memory.size <= this.limit || !this.options.spillFile) return;
    this.file = this.options.spillFile();
    const disk = new PathClaims({
      file: this.file,
      foldCase: this.foldCase,
      unsorted: true,
    });
    disk.seed(memory.claims());
    this.disk = disk;
    this.memory = undefined;
  }
}
