import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createGroupCommitQueue, type GroupCommitOptions } from '../../src/profiles/sqlite-group-commit.js';
import { makeTempDir } from './temp-dir.js';

/**
 * The queue on a real database file, observed from a second connection:
 * another connection sees a row only once the transaction that wrote it has
 * committed, so what it sees when a promise settles shows what was committed.
 */
describe('sqlite group commit', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0).reverse()) cleanup();
  });

  function setUp(options: Omit<GroupCommitOptions, 'db'> = {}) {
    const temp = makeTempDir();
    const file = path.join(temp.dir, 'queue.db');
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (n INTEGER PRIMARY KEY)');
    const other = new Database(file, { readonly: true });
    cleanups.push(() => {
      other.close();
      db.close();
      temp.remove();
    });
    const commits: number[] = [];
    const queue = createGroupCommitQueue({ db, ...options, onCommit: (writes) => commits.push(writes) });
    const insert = db.prepare<[number]>('INSERT INTO t (n) VALUES (?)');
    const visible = (): number[] => other.prepare<[], number>('SELECT n FROM t ORDER BY n').pluck().all();
    return { db, queue, commits, insert, visible };
  }

  it('commits writes queued together in one transaction, and answers each only after that commit', async () => {
    const { queue, commits, insert, visible } = setUp();
    const seenDuringWrites: number[][] = [];
    const answers = [1, 2, 3, 4, 5].map((n) =>
      queue
        .run(() => {
          seenDuringWrites.push(visible());
          insert.run(n);
          return n * 10;
        })
        .then((value) => ({ value, visibleThen: visible() })),
    );
    const settled = await Promise.all(answers);

    expect(commits).toEqual([5]);
    // None of the group's writes was visible to another connection while the others ran: one transaction.
    expect(seenDuringWrites).toEqual([[], [], [], [], []]);
    // Each caller, when answered, finds every write of its group committed.
    expect(settled).toEqual([1, 2, 3, 4, 5].map((n) => ({ value: n * 10, visibleThen: [1, 2, 3, 4, 5] })));
  });

  it('fails a throwing write alone: its changes are rolled back, the others of its group commit', async () => {
    const { queue, commits, insert, visible } = setUp();
    const results = await Promise.allSettled([
      queue.run(() => insert.run(1).changes),
      queue.run(() => {
        insert.run(2);
        throw new Error('bad data');
      }),
      // A constraint SQLite enforces: n = 1 is already taken inside this same transaction.
      queue.run(() => insert.run(1).changes),
      queue.run(() => insert.run(3).changes),
    ]);

    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ message: 'bad data' });
    expect((results[2] as PromiseRejectedResult).reason).toMatchObject({ code: 'SQLITE_CONSTRAINT_PRIMARYKEY' });
    expect(commits).toEqual([4]);
    expect(visible()).toEqual([1, 3]);
  });

  it('splits a queue longer than the cap into several commits, in order', async () => {
    const { queue, commits, insert, visible } = setUp({ maxGroupSize: 2 });
    const order: number[] = [];
    await Promise.all([1, 2, 3, 4, 5].map((n) => queue.run(() => insert.run(n)).then(() => order.push(n))));
    expect(commits).toEqual([2, 2, 1]);
    expect(order).toEqual([1, 2, 3, 4, 5]);
    expect(visible()).toEqual([1, 2, 3, 4, 5]);
  });

  it('writes nothing and fails the whole group when the check before it throws', async () => {
    let refuse = true;
    const { queue, commits, insert, visible } = setUp({
      beforeGroup: () => {
        if (refuse) throw new Error('the file is gone');
      },
    });
    const results = await Promise.allSettled([queue.run(() => insert.run(1)), queue.run(() => insert.run(2))]);
    expect(results.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : 'fulfilled'))).toEqual(['the file is gone', 'the file is gone']);
    expect(commits).toEqual([]);
    expect(visible()).toEqual([]);

    refuse = false;
    await queue.run(() => insert.run(3));
    expect(visible()).toEqual([3]);
  });

  it('fails every write of a group whose COMMIT fails: none of them is on disk', async () => {
    const { db, queue, commits, insert, visible } = setUp();
    // A deferred foreign key is checked at COMMIT, so the commit of this group fails as a whole.
    db.exec('PRAGMA foreign_keys = ON; CREATE TABLE child (parent INTEGER REFERENCES t DEFERRABLE INITIALLY DEFERRED)');
    const results = await Promise.allSettled([
      queue.run(() => insert.run(1)),
      queue.run(() => db.prepare('INSERT INTO child (parent) VALUES (99)').run()),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(commits).toEqual([]);
    expect(visible()).toEqual([]);
    expect(db.inTransaction).toBe(false);
  });

  it('commits what is queued at once on flush, as closing the store does', () => {
    const { queue, commits, insert, visible } = setUp();
    const pending = [queue.run(() => insert.run(1)), queue.run(() => insert.run(2))];
    queue.flush();
    expect(commits).toEqual([2]);
    expect(visible()).toEqual([1, 2]);
    return Promise.all(pending);
  });
});
