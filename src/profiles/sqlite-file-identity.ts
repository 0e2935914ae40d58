import fs from 'node:fs';

/** Says why the database's files are no longer the ones opened, or null while they are. */
export type FileIdentityCheck = () => string | null;

interface Identity {
  file: string;
  dev: number;
  ino: number;
}

/**
 * Remembers which files (device and inode) the database's path and its WAL
 * name now, to notice later that they were deleted or replaced under the
 * open connection. SQLite goes on reading and writing through the handles it
 * holds, so every commit still succeeds, into a file that no path names any
 * more and that a restart will not find: without this check the service
 * would acknowledge writes that are already lost.
 *
 * Costs one stat per file and call. Call it once the database is open in WAL
 * mode: SQLite keeps the WAL file (same inode) while any connection is open,
 * so a WAL missing or replaced later means someone removed it.
 */
export function recordFileIdentity(databaseFile: string): FileIdentityCheck {
  const recorded = [databaseFile, `${databaseFile}-wal`].flatMap((file): Identity[] => {
    const stats = fs.statSync(file, { throwIfNoEntry: false });
    return stats ? [{ file, dev: stats.dev, ino: stats.ino }] : [];
  });
  return () => {
    for (const { file, dev, ino } of recorded) {
      let stats: fs.Stats | undefined;
      try {
        stats = fs.statSync(file, { throwIfNoEntry: false });
      } catch (error) {
        return `${file} cannot be checked: ${(error as Error).message}`;
      }
      if (!stats) return `${file} was deleted while the service had it open`;
      if (stats.dev !== dev || stats.ino !== ino) return `${file} was replaced by another file while the service had it open`;
    }
    return null;
  };
}
