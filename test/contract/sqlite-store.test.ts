import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidInputError, StoreUnavailableError } from '../../src/domain/errors.js';
import { MAX_ATTRIBUTES_BYTES } from '../../src/domain/profile.js';
import { createSqliteStore } from '../../src/profiles/sqlite-store.js';
import type { StoredTouchpoint } from '../../src/domain/touchpoint.js';
import type { ProfileStore } from '../../src/profiles/store.js';
import { runProfileStoreContract } from './profile-store.contract.js';
import { makeTempDir } from './temp-dir.js';

for (const [name, reader] of [
  ['sqlite', {}],
  // Every group read through the reader thread, its own connection on the file.
  ['sqlite, group reads on the reader thread', { readerThread: true, readerMinCustomers: 1 }],
] as const) {
  runProfileStoreContract(name, async (limits) => {
    const temp = makeTempDir();
    const file = path.join(temp.dir, 'profiles.db');
    const stores = [createSqliteStore({ ...limits, ...reader, path: file })];
    return {
      store: stores[0] as ProfileStore,
      async openAnother() {
        const another = createSqliteStore({ ...limits, ...reader, path: file });
        stores.push(another);
        return another;
      },
      async cleanup() {
        for (const store of stores) await store.close();
        temp.remove();
      },
    };
  });
}

/** Takes a file back to before schema step 7 (the decision view) and step 8 (the rows' narrower index). */
const UNDO_DECISION_VIEW = `
  CREATE INDEX touchpoints_decision ON touchpoint_rows (customer_id, at, seq, type, channel); DROP INDEX touchpoint_rows_customer_at;
  ALTER TABLE touchpoint_rows RENAME TO touchpoints;
  DROP INDEX profiles_decision_view_skip; DROP TABLE decision_views;
  ALTER TABLE profiles DROP COLUMN decision_view_tail; ALTER TABLE profiles DROP COLUMN decision_view_id; ALTER TABLE profiles DROP COLUMN decision_view_newest; ALTER TABLE profiles DROP COLUMN decision_view_skip;
  DROP TABLE touchpoint_names;
`;

describe('sqlite store', () => {
  const T0 = Date.UTC(2026, 0, 15);
  const limits = { retentionDays: 365, maxTouchpointsPerProfile: 1000, now: () => T0 };
  const temps: Array<{ remove(): void }> = [];

  function tempDir(): string {
    const temp = makeTempDir();
    temps.push(temp);
    return temp.dir;
  }

  afterEach(() => {
    for (const temp of temps.splice(0)) temp.remove();
  });

  it('creates the folder of the database file when missing', async () => {
    const file = path.join(tempDir(), 'deeper', 'still', 'profiles.db');
    const store = createSqliteStore({ ...limits, path: file });
    await store.ping();
    await store.close();
    expect(fs.existsSync(file)).toBe(true);
  });

  it('keeps everything written after close and reopen', async () => {
    const file = path.join(tempDir(), 'profiles.db');
    const touchpoints: StoredTouchpoint[] = Array.from({ length: 50 }, (_, i) => ({
      id: `tp-${i}`,
      type: 'page_view',
      channel: 'web',
      at: T0 - i * 1000,
      properties: i % 2 === 0 ? { i } : null,
    }));
    const first = createSqliteStore({ ...limits, path: file });
    await first.appendTouchpoints('c1', touchpoints, T0);
    await first.patch('c1', { attributes: { tier: 'gold', prefs: { email: true } }, stage: 'purchase' }, T0 + 1);
    await first.patch('c2', { attributes: { n: 1 } }, T0);
    await first.delete('c2');
    const before = await first.get('c1');
    await first.close();

    const second = createSqliteStore({ ...limits, path: file });
    expect(await second.get('c1')).toEqual(before);
    expect(await second.get('c2')).toBeNull();
    expect(await second.appendTouchpoints('c1', touchpoints.slice(0, 3), T0 + 2)).toMatchObject({ accepted: 0, duplicates: 3, expired: 0 });
    await second.close();
  });

  it('uses WAL, records its schema version and refuses a newer one', async () => {
    const file = path.join(tempDir(), 'profiles.db');
    await createSqliteStore({ ...limits, path: file }).close();

    const raw = new Database(file);
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(raw.pragma('user_version', { simple: true })).toBe(8);
    raw.pragma('user_version = 99');
    raw.close();

    expect(() => createSqliteStore({ ...limits, path: file })).toThrow(/schema version 99/);
  });

  it("counts the outcomes stored before everyone's daily totals were kept (migration 5)", async () => {
    const file = path.join(tempDir(), 'profiles.db');
    const store = createSqliteStore({ ...limits, path: file });
    const outcome = (decisionId: string, kind: 'impression' | 'click', at: number) =>
      ({ decisionId, placement: 'home-hero', item: 'hero-a', rule: null, arm: null, kind, at, value: null }) as const;
    await store.appendOutcomes('c1', [outcome('d-1', 'impression', T0), outcome('d-1', 'click', T0), outcome('d-0', 'impression', T0 - 86_400_000)], T0);
    await store.appendOutcomes('c2', [outcome('d-2', 'impression', T0)], T0);
    const expected = await store.outcomeTotals(['hero-a'], T0);
    await store.close();
    // The file as schema 4 left it: outcomes, and no daily totals.
    const raw = new Database(file);
    raw.exec(UNDO_DECISION_VIEW);
    raw.exec('DROP TRIGGER outcome_days_insert; DROP TRIGGER outcome_days_delete; DROP TRIGGER outcome_days_update; DROP TABLE outcome_days; DROP TABLE decision_names');
    raw.pragma('user_version = 4');
    raw.close();

    const reopened = createSqliteStore({ ...limits, path: file });
    const byDay = (rows: typeof expected) => [...rows].sort((a, b) => a.day - b.day || a.kind.localeCompare(b.kind));
    expect(byDay(await reopened.outcomeTotals(['hero-a'], T0))).toEqual(byDay(expected));
    expect(expected.reduce((sum, row) => sum + row.count, 0)).toBe(4);
    await reopened.close();
  });

  it('reports a closed store as unavailable', async () => {
    const store = createSqliteStore({ ...limits, path: path.join(tempDir(), 'profiles.db') });
    await store.close();
    await expect(store.get('c1')).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.appendTouchpoints('c1', [], T0)).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('reports a database locked by another writer as unavailable', async () => {
    const file = path.join(tempDir(), 'profiles.db');
    const store = createSqliteStore({ ...limits, path: file, busyTimeoutMs: 10 });
    const other = new Database(file);
    other.exec('BEGIN IMMEDIATE');
    try {
      await expect(store.patch('c1', { stage: 'purchase' }, T0)).rejects.toBeInstanceOf(StoreUnavailableError);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    await expect(store.patch('c1', { stage: 'purchase' }, T0)).resolves.toMatchObject({ stage: 'purchase' });
    await store.close();
  });

  it('commits PATCHes, touchpoints and deletes sent together in one group; a rejected patch fails alone', async () => {
    const file = path.join(tempDir(), 'profiles.db');
    const commits: number[] = [];
    const store = createSqliteStore({ ...limits, path: file, onCommit: (writes) => commits.push(writes) });
    await store.patch('gone', { stage: 'purchase' }, T0);
    commits.length = 0;

    const tp = (id: string): StoredTouchpoint => ({ id, type: 'page_view', channel: 'web', at: T0, properties: null });
    const results = await Promise.allSettled([
      store.patch('c1', { attributes: { tier: 'gold' } }, T0),
      store.appendTouchpoints('c1', [tp('a')], T0),
      store.patch('c1', { attributes: { blob: 'x'.repeat(MAX_ATTRIBUTES_BYTES) } }, T0),
      store.appendTouchpoints('c2', [tp('b'), tp('b')], T0),
      store.delete('gone'),
    ]);

    expect(commits).toEqual([5]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect((results[2] as PromiseRejectedResult).reason).toBeInstanceOf(InvalidInputError);
    expect((results[1] as PromiseFulfilledResult<unknown>).value).toMatchObject({ accepted: 1, duplicates: 0, expired: 0 });
    expect((results[3] as PromiseFulfilledResult<unknown>).value).toMatchObject({ accepted: 1, duplicates: 1, expired: 0 });
    expect((results[4] as PromiseFulfilledResult<unknown>).value).toBe(true);

    // What each caller was told is what another connection finds committed.
    const raw = new Database(file, { readonly: true });
    try {
      expect(raw.prepare('SELECT customer_id, attributes FROM profiles ORDER BY customer_id').all()).toEqual([
        { customer_id: 'c1', attributes: '{"tier":"gold"}' },
        { customer_id: 'c2', attributes: '{}' },
      ]);
      expect(raw.prepare('SELECT customer_id, id FROM touchpoint_rows ORDER BY seq').all()).toEqual([
        { customer_id: 'c1', id: 'a' },
        { customer_id: 'c2', id: 'b' },
      ]);
    } finally {
      raw.close();
    }
    await store.close();
  });

  it('commits writes still queued when it is closed', async () => {
    const file = path.join(tempDir(), 'profiles.db');
    const store = createSqliteStore({ ...limits, path: file });
    const written = store.patch('c1', { stage: 'purchase' }, T0);
    await store.close();
    await expect(written).resolves.toMatchObject({ stage: 'purchase' });
    const reopened = createSqliteStore({ ...limits, path: file });
    expect(await reopened.get('c1')).toMatchObject({ stage: 'purchase' });
    await reopened.close();
  });

  describe('when its file is deleted or replaced under it', () => {
    const removeAll = (file: string) => {
      for (const suffix of ['', '-wal', '-shm']) fs.rmSync(`${file}${suffix}`, { force: true });
    };

    it.each([
      ['the database and its WAL are deleted', removeAll],
      ['only the WAL is deleted', (file: string) => fs.rmSync(`${file}-wal`)],
      [
        'another database is moved into its place',
        (file: string) => {
          const other = `${file}.other`;
          new Database(other).close();
          fs.renameSync(other, file);
        },
      ],
    ])('refuses writes and fails ping once %s', async (_, change) => {
      const file = path.join(tempDir(), 'profiles.db');
      const store = createSqliteStore({ ...limits, path: file });
      await store.appendTouchpoints('c1', [{ id: 'a', type: 'page_view', channel: 'web', at: T0, properties: null }], T0);
      await store.ping();

      change(file);

      await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.ping()).rejects.toThrow(/profiles\.db(-wal)? was (deleted|replaced)/);
      const writes = await Promise.allSettled([
        store.appendTouchpoints('c1', [{ id: 'b', type: 'page_view', channel: 'web', at: T0, properties: null }], T0),
        store.patch('c1', { stage: 'purchase' }, T0),
        store.delete('c1'),
      ]);
      for (const write of writes) {
        expect(write.status).toBe('rejected');
        expect((write as PromiseRejectedResult).reason).toBeInstanceOf(StoreUnavailableError);
      }
      await store.close();
    });
  });

  it.each([
    ['on its own connection', {}],
    ['on the reader thread', { readerThread: true, readerMinCustomers: 1 }],
  ])('gives the profiles of a group read that no one keeps one array of times, and those that may be kept their own (%s)', async (_, reader) => {
    const store = createSqliteStore({ ...limits, ...reader, path: path.join(tempDir(), 'profiles.db') });
    const ids = ['a', 'b', 'c'];
    for (const [n, id] of ids.entries()) {
      const batch = Array.from({ length: 4 }, (_, i): StoredTouchpoint => ({ id: null, type: 't', channel: 'web', at: T0 - 1000 * (n + 1) - i, properties: null }));
      await store.appendTouchpoints(id, batch, T0);
    }
    const own = [...(await store.getManyForDecision(ids)).values()].map((profile) => profile.at);
    const shared = [...(await store.getManyForDecision(ids, { cacheMisses: false })).values()].map((profile) => profile.at);
    expect(shared).toEqual(own);
    for (const at of own) expect(at.byteLength).toBe(at.buffer.byteLength);
    expect(new Set(shared.map((at) => at.buffer)).size).toBe(1);
    // Side by side in it, none over another.
    expect(shared.map((at) => [at.byteOffset / 8, at.length])).toEqual([[0, 4], [4, 4], [8, 4]]);
    await store.close();
  });

  it('sweeps more rows than one chunk', async () => {
    const store = createSqliteStore({ ...limits, maxTouchpointsPerProfile: 1000, path: path.join(tempDir(), 'profiles.db') });
    const old = T0 - 400 * 24 * 3600 * 1000;
    for (let c = 0; c < 12; c++) {
      // Stored with an old `now`, so retention on write keeps them.
      const batch = Array.from({ length: 1000 }, (_, i): StoredTouchpoint => ({ id: null, type: 't', channel: 'web', at: old + i, properties: null }));
      await store.appendTouchpoints(`c${c}`, batch, old + 1000);
    }
    expect(await store.sweepExpired(T0)).toBe(12_000);
    await store.close();
  });
});
