/**
 * Opens the SQLite files of the scratch directory (path claims, spilled sets, resume records)
 * without following a link a writer of the volume planted at their names.
 *
 * The scratch directory lives in the volume, which other pods may write, and its file names are
 * predictable; node:sqlite opens a file by path and follows links (and would create a missing link
 * target). So each file is first created here with O_CREAT | O_EXCL | O_NOFOLLOW (a name that
 * exists, link or not, is refused), mode 0600; SQLite then opens that path, and once the schema is
 * written the file created here must hold it (a name swapped in between is refused). The rollback
 * journal stays in memory, so SQLite makes no side file with a predictable name either.
 */
import {
  closeSync,
  constants as fsConstants,
  fstatSync,
  lstatSync,
  openSync,
  readSync,
} from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { unsafe } from './paths';

const { O_RDWR, O_CREAT, O_EXCL, O_NOFOLLOW } = fsConstants;

/** The first bytes of every SQLite database file. */
const HEADER = Buffer.from('SQLite format 3\0', 'latin1');

/**
 * Opens `file` (a fresh name in the scratch directory, or `:memory:`) as scratch state that a crash
 * throws away (journal in memory, no fsync) and runs `schema` in it.
 */
export function openScratchDatabase(
  file: string,
  schema: string,
): DatabaseSync {
  // journal_mode=OFF is refused in node:sqlite's defensive mode; MEMORY keeps it off the disk.
  const pragmas =
    'PRAGMA journal_mode=MEMORY; PRAGMA synchronous=OFF; PRAGMA cache_size=-2048;';
  if (file === ':memory:') {
    const db = new DatabaseSync(file);
    db.exec(pragmas + schema);
    return db;
  }
  let fd: number;
  try {
    fd = openSync(file, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST')
      throw unsafe(
        file,
        'already exists; kube-restore makes its scratch files afresh and does not follow links there',
      );
    throw error;
  }
  let db: DatabaseSync | undefined;
  try {
    const made = fstatSync(fd);
    db = new DatabaseSync(file);
    db.exec(pragmas + schema);
    const now = lstatSync(file, { throwIfNoEntry: false });
    const head = Buffer.alloc(HEADER.length);
    readSync(fd, head, 0, head.length, 0);
    if (
      !now?.isFile() ||
      now.dev !== made.dev ||
      now.ino !== made.ino ||
      !head.equals(HEADER)
    )
      throw unsafe(
        file,
        "was replaced while kube-restore opened it; something else writes in kube-restore's scratch directory",
      );
    return db;
  } catch (error) {
    db?.close();
    throw error;
  } finally {
    closeSync(fd);
  }
}
