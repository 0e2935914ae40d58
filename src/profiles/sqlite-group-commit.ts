import type Database from 'better-sqlite3';

/** A write run inside the group's transaction; its result is handed to the caller once the transaction has committed. */
export type GroupedWrite<T> = () => T;

export interface GroupCommitOptions {
  db: Database.Database;
  /** Most writes committed together; the rest wait for the next group. */
  maxGroupSize?: number;
  /**
   * Runs before each group's transaction begins; when it throws, every write
   * of the group fails with its error and nothing is written (the store checks
   * there that its file is still the one it opened).
   */
  beforeGroup?: () => void;
  /** Called after each COMMIT, before any of its callers hears back, with how many writes it held (for metrics and tests). */
  onCommit?: (writes: number) => void;
}

export interface GroupCommitQueue {
  /** Queues a write for the next group; resolves with its result after the COMMIT that holds it returned. */
  run<T>(write: GroupedWrite<T>): Promise<T>;
  /** Commits every queued write now, group by group (before closing the database). */
  flush(): void;
}

/** Enough to amortise a commit's fsync many times over, small enough that one group holds the write lock only briefly. */
export const DEFAULT_MAX_GROUP_SIZE = 256;

interface Queued {
  write: GroupedWrite<unknown>;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * Group commit for better-sqlite3. With synchronous=FULL every COMMIT waits
 * for an fsync of the WAL, which dwarfs the work of a small write: one commit
 * per request caps ingestion at the disk's fsync rate. Writes that arrive
 * while the event loop is busy are queued and run together on the next turn
 * (setImmediate, so a lone write waits for no timer) in one BEGIN IMMEDIATE …
 * COMMIT: one fsync for the whole group. Durability is unchanged, since no
 * caller hears back before the transaction holding its write has committed.
 *
 * Each write runs in a savepoint of its own, so a write that throws (bad
 * data, a constraint) is rolled back and fails alone while the others commit.
 * If SQLite abandons the whole transaction (an I/O error, a full disk), or
 * BEGIN or COMMIT fails, every write of the group fails: none was committed.
 */
export function createGroupCommitQueue(options: GroupCommitOptions): GroupCommitQueue {
  const { db } = options;
  const maxGroupSize = Math.max(1, Math.trunc(options.maxGroupSize ?? DEFAULT_MAX_GROUP_SIZE));
  let queue: Queued[] = [];
  let scheduled = false;

  // Called inside the group's transaction, better-sqlite3 runs a transaction function as a savepoint:
  // on a throw it rolls back to it and rethrows, and the enclosing transaction goes on.
  const inSavepoint = db.transaction((write: GroupedWrite<unknown>) => write());

  const runGroup = db.transaction((group: readonly Queued[]): Outcome[] => {
    const outcomes: Outcome[] = [];
    for (const item of group) {
      try {
        outcomes.push({ ok: true, value: inSavepoint(item.write) });
      } catch (error) {
        // SQLite rolled the whole transaction back: the writes before this one are gone too.
        if (!db.inTransaction) throw error;
        outcomes.push({ ok: false, error });
      }
    }
    return outcomes;
  });

  function commitGroup(group: readonly Queued[]): void {
    let outcomes: Outcome[];
    try {
      options.beforeGroup?.();
      outcomes = runGroup.immediate(group);
    } catch (error) {
      for (const item of group) item.reject(error);
      return;
    }
    try {
      options.onCommit?.(group.length);
    } catch {
      // The writes are committed and their callers must hear so; a failing observer changes nothing about that.
    }
    // Only now, after COMMIT returned, does any caller learn how its write went.
    group.forEach((item, index) => {
      const outcome = outcomes[index] as Outcome;
      if (outcome.ok) item.resolve(outcome.value);
      else item.reject(outcome.error);
    });
  }

  function flush(): void {
    scheduled = false;
    while (queue.length > 0) {
      const group = queue.length <= maxGroupSize ? queue : queue.slice(0, maxGroupSize);
      queue = queue.length <= maxGroupSize ? [] : queue.slice(maxGroupSize);
      commitGroup(group);
    }
  }

  return {
    run<T>(write: GroupedWrite<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ write, resolve: resolve as (value: unknown) => void, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
    flush,
  };
}
