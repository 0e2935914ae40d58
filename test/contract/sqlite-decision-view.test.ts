import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { toDecisionProfile } from '../../src/domain/decision-profile.js';
import { ProfileDataError } from '../../src/domain/errors.js';
import type { StoredTouchpoint } from '../../src/domain/touchpoint.js';
import { createSqliteStore, type SqliteStoreOptions } from '../../src/profiles/sqlite-store.js';
import type { ProfileStore } from '../../src/profiles/store.js';
import { makeTempDir } from './temp-dir.js';

/**
 * The SQLite store's decision view (schema step 7): what getForDecision,
 * getManyForDecision and the journey scan read instead of the touchpoint
 * rows. Every case checks the view's answer against the rows' own (get, made
 * into decision columns), after the writes that change the rows: appends in
 * and out of time order, equal times, the cap, expiry, the sweep, a merge, an
 * erase, the migration of an older file, another process on the file.
 */
const DAY_MS = 86_400_000;
const T0 = Date.UTC(2026, 0, 15);

describe.each([
  { variant: 'read on the store thread', reader: {} },
  { variant: 'group reads on the reader thread', reader: { readerThread: true, readerMinCustomers: 1 } },
])('sqlite decision view ($variant)', ({ reader }) => {
  const temps: Array<{ remove(): void }> = [];
  const stores: ProfileStore[] = [];
  let now = T0;

  function file(): string {
    const temp = makeTempDir();
    temps.push(temp);
    return path.join(temp.dir, 'profiles.db');
  }

  function open(at: string, limits: Partial<SqliteStoreOptions> = {}): ProfileStore {
    const store = createSqliteStore({ retentionDays: 30, maxTouchpointsPerProfile: 100, now: () => now, path: at, ...reader, ...limits });
    stores.push(store);
    return store;
  }

  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    for (const temp of temps.splice(0)) temp.remove();
    now = T0;
  });

  let seq = 0;
  const tp = (at: number, type = 'page_view', channel = 'web', id: string | null = `tp-${seq++}`): StoredTouchpoint => ({ id, type, channel, at, properties: { n: seq } });

  /** The view's columns against the rows': the same, in the same order. */
  async function expectViewMatchesRows(store: ProfileStore, customerIds: readonly string[]): Promise<void> {
    const many = await store.getManyForDecision(customerIds);
    for (const customerId of customerIds) {
      const profile = await store.get(customerId);
      const fromRows = profile && toDecisionProfile(profile);
      const fromView = await store.getForDecision(customerId);
      expect(fromView, customerId).toEqual(fromRows);
      expect(many.get(customerId) ?? null, customerId).toEqual(fromRows);
    }
    // The journey scan reads the same view.
    const scanned = new Map((await store.scanDecisionProfiles(null, 1000)).profiles.map((p) => [p.customerId, p]));
    for (const customerId of customerIds) {
      const profile = await store.get(customerId);
      if (profile) expect(scanned.get(profile.customerId), customerId).toEqual(toDecisionProfile(profile));
    }
  }

  function viewColumns(at: string, customerId: string): { decision_view: string; decision_view_skip: number } {
    const raw = new Database(at, { readonly: true });
    try {
      return raw
        .prepare(
          `SELECT coalesce(v.entries, '') || p.decision_view_tail AS decision_view, p.decision_view_skip
           FROM profiles AS p LEFT JOIN decision_views AS v ON v.id = p.decision_view_id WHERE p.customer_id = ?`,
        )
        .get(customerId) as { decision_view: string; decision_view_skip: number };
    } finally {
      raw.close();
    }
  }

  it('follows appends in time order, out of order, and equal times in one batch and across batches', async () => {
    const at = file();
    const store = open(at);
    await store.appendTouchpoints('c1', [tp(T0 - 5 * DAY_MS), tp(T0 - 4 * DAY_MS, 'email_open', 'email')], T0);
    await store.appendTouchpoints('c1', [tp(T0 - 3 * DAY_MS, 'a'), tp(T0 - 3 * DAY_MS, 'b'), tp(T0 - 3 * DAY_MS, 'c')], T0);
    await store.appendTouchpoints('c1', [tp(T0 - 3 * DAY_MS, 'd')], T0);
    // In time order so far: each append only lengthened the view.
    expect(viewColumns(at, 'c1').decision_view.split(',').length).toBe(1 + 6 * 3);
    await expectViewMatchesRows(store, ['c1']);
    expect((await store.getForDecision('c1'))?.types.slice(0, 4)).toEqual(['d', 'c', 'b', 'a']);

    // Older than the newest, newest first within the batch, equal to an existing time: the order is the rows'.
    await store.appendTouchpoints('c1', [tp(T0 - DAY_MS, 'x'), tp(T0 - 4 * DAY_MS, 'y'), tp(T0 - 3 * DAY_MS, 'z'), tp(T0 - 4 * DAY_MS, 'w')], T0);
    await expectViewMatchesRows(store, ['c1']);
    expect((await store.getForDecision('c1'))?.types).toEqual(['x', 'z', 'd', 'c', 'b', 'a', 'w', 'y', 'email_open', 'page_view']);

    // Duplicates add nothing.
    await store.appendTouchpoints('c1', [{ ...tp(T0, 'dup'), id: 'tp-0' }], T0);
    await expectViewMatchesRows(store, ['c1']);
  });

  it('moves a long tail of appended entries from the profile row to decision_views', async () => {
    const at = file();
    const store = open(at);
    for (let i = 0; i < 60; i++) {
      await store.appendTouchpoints('c1', [tp(T0 - 60 + i, `t${i % 5}`, `ch${i % 3}`)], T0);
      await expectViewMatchesRows(store, ['c1']);
    }
    const raw = new Database(at, { readonly: true });
    try {
      const row = raw
        .prepare('SELECT length(v.entries) AS moved, length(p.decision_view_tail) AS tail FROM profiles AS p JOIN decision_views AS v ON v.id = p.decision_view_id')
        .get() as { moved: number; tail: number };
      expect(row.moved).toBeGreaterThan(0);
      // 512 characters at most before an append, plus that append's entry.
      expect(row.tail).toBeLessThanOrEqual(512 + 32);
    } finally {
      raw.close();
    }
  });

  it('cuts at the retention cutoff when read, and after appends that drop expired rows', async () => {
    const at = file();
    const store = open(at);
    await store.appendTouchpoints('c1', [tp(T0 - 20 * DAY_MS, 'old'), tp(T0 - 10 * DAY_MS, 'mid'), tp(T0, 'new')], T0);
    now = T0 + 15 * DAY_MS;
    expect((await store.getForDecision('c1'))?.types).toEqual(['new', 'mid']);
    await expectViewMatchesRows(store, ['c1']);
    // This append deletes the expired row: the view counts it at its front.
    await store.appendTouchpoints('c1', [tp(now, 'later')], now);
    expect(viewColumns(at, 'c1').decision_view_skip).toBe(1);
    await expectViewMatchesRows(store, ['c1']);
    now = T0 + 25 * DAY_MS;
    await expectViewMatchesRows(store, ['c1']);
    expect((await store.getForDecision('c1'))?.types).toEqual(['later', 'new']);
  });

  it('keeps the cap: the newest rows, counted drops, a rebuild once many have piled up', async () => {
    const at = file();
    const store = open(at, { maxTouchpointsPerProfile: 5 });
    await store.appendTouchpoints('c1', Array.from({ length: 8 }, (_, i) => tp(T0 - 100 + i, `t${i}`)), T0);
    await expectViewMatchesRows(store, ['c1']);
    for (let i = 0; i < 50; i++) {
      await store.appendTouchpoints('c1', [tp(T0 + i, `n${i % 7}`)], T0 + i);
      await expectViewMatchesRows(store, ['c1']);
    }
    const { decision_view: view, decision_view_skip: skip } = viewColumns(at, 'c1');
    // At most 32 dropped entries are kept before a rebuild.
    expect(skip).toBeLessThanOrEqual(32);
    expect((view.split(',').length - 1) / 3).toBe(5 + skip);
    // An older touchpoint than the cap's oldest is dropped at once.
    await store.appendTouchpoints('c1', [tp(T0 - 1000, 'ancient')], T0 + 50);
    await expectViewMatchesRows(store, ['c1']);
  });

  it("counts the sweep's drops, then compacts the views that hold dropped entries", async () => {
    const at = file();
    const store = open(at, { retentionDays: 10 });
    await store.appendTouchpoints('a', [tp(T0 - 8 * DAY_MS, 'a-old'), tp(T0 - 5 * DAY_MS, 'a-mid'), tp(T0, 'a-new')], T0);
    await store.appendTouchpoints('b', [tp(T0 - 9 * DAY_MS, 'b-old')], T0);
    await store.patch('c', { stage: 'awareness' }, T0);
    expect(await store.sweepExpired(T0 + 3 * DAY_MS)).toBe(2);
    expect(viewColumns(at, 'a')).toMatchObject({ decision_view_skip: 0 });
    expect(viewColumns(at, 'b')).toEqual({ decision_view: '', decision_view_skip: 0 });
    // Swept for good: a reader whose clock is behind does not see them either.
    await expectViewMatchesRows(store, ['a', 'b', 'c']);
    expect((await store.getForDecision('a'))?.types).toEqual(['a-new', 'a-mid']);
  });

  it('is rebuilt by an alias merge, whatever order the moved rows fall in', async () => {
    const at = file();
    const store = open(at, { maxTouchpointsPerProfile: 6 });
    await store.appendTouchpoints('web-1', [tp(T0 - 5, 'w1'), tp(T0 - 3, 'w2'), tp(T0 - 1, 'w3'), tp(T0 - 3, 'shared', 'web', 'same')], T0);
    await store.appendTouchpoints('crm-9', [tp(T0 - 4, 'c1'), tp(T0 - 2, 'c2'), tp(T0 - 3, 'c3'), tp(T0 - 6, 'c4'), tp(T0 - 3, 'other', 'web', 'same')], T0);
    await store.addAlias('crm-9', 'web-1', T0);
    await expectViewMatchesRows(store, ['crm-9', 'web-1']);
    expect((await store.getForDecision('web-1'))?.customerId).toBe('crm-9');
    // Appends after the merge go on from the rebuilt view.
    await store.appendTouchpoints('web-1', [tp(T0, 'after')], T0);
    await expectViewMatchesRows(store, ['crm-9']);
  });

  it('goes with an erased customer', async () => {
    const at = file();
    const store = open(at);
    await store.appendTouchpoints('c1', [tp(T0 - 2, 'a'), tp(T0 - 1, 'b')], T0);
    await store.delete('c1');
    expect(await store.getForDecision('c1')).toBeNull();
    await store.appendTouchpoints('c1', [tp(T0, 'again')], T0);
    expect((await store.getForDecision('c1'))?.types).toEqual(['again']);
    await expectViewMatchesRows(store, ['c1']);
  });

  it('is built by the migration for a file written before it (schema 6)', async () => {
    const at = file();
    const first = open(at, { maxTouchpointsPerProfile: 1000 });
    for (let c = 0; c < 20; c++) {
      const batch = Array.from({ length: 30 }, (_, i) => tp(T0 - ((i * 7919 + c * 104_729) % 50) * 3_600_000, `type-${(i + c) % 6}`, `ch-${i % 3}`));
      await first.appendTouchpoints(`c${c}`, batch, T0);
    }
    await first.addAlias('c0', 'c1', T0);
    const ids = Array.from({ length: 20 }, (_, c) => `c${c}`);
    const before = await first.getManyForDecision(ids);
    await first.close();
    stores.splice(0);

    const raw = new Database(at);
    raw.exec(`
      CREATE INDEX touchpoints_decision ON touchpoint_rows (customer_id, at, seq, type, channel); DROP INDEX touchpoint_rows_customer_at;
      ALTER TABLE touchpoint_rows RENAME TO touchpoints;
      DROP INDEX profiles_decision_view_skip; DROP TABLE decision_views;
      ALTER TABLE profiles DROP COLUMN decision_view_tail; ALTER TABLE profiles DROP COLUMN decision_view_id; ALTER TABLE profiles DROP COLUMN decision_view_newest; ALTER TABLE profiles DROP COLUMN decision_view_skip;
      DROP TABLE touchpoint_names;
    `);
    raw.pragma('user_version = 6');
    raw.close();

    const migrated = open(at, { maxTouchpointsPerProfile: 1000 });
    expect(await migrated.getManyForDecision(ids)).toEqual(before);
    // Step 8: the rows keep a narrow (customer_id, at) index, not the one that held type and channel for decisions.
    const check = new Database(at, { readonly: true });
    const indexes = check.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'touchpoint_rows' AND sql IS NOT NULL ORDER BY name").pluck().all();
    check.close();
    expect(indexes).toEqual(['touchpoint_rows_customer_at', 'touchpoints_at', 'touchpoints_customer_touchpoint_id']);
    await expectViewMatchesRows(migrated, ids);
    await migrated.appendTouchpoints('c3', [tp(T0, 'after-migration')], T0);
    await expectViewMatchesRows(migrated, ['c3']);
  });

  it('reads names numbered by another process on the file, and writes names in full past the bound', async () => {
    const at = file();
    const one = open(at);
    const two = open(at);
    await one.appendTouchpoints('c1', [tp(T0 - 2, 'first')], T0);
    await two.appendTouchpoints('c1', [tp(T0 - 1, 'second', 'sms')], T0);
    expect((await one.getForDecision('c1'))?.types).toEqual(['second', 'first']);
    await expectViewMatchesRows(one, ['c1']);

    // Fill the name list to its bound: a new name is then written in full.
    const raw = new Database(at);
    raw.prepare('INSERT INTO touchpoint_names (number, name) VALUES (9999, ?)').run('the-last-number');
    raw.close();
    await two.appendTouchpoints('c1', [tp(T0, 'past-the-bound', 'carrier-pigeon')], T0);
    expect(viewColumns(at, 'c1').decision_view).toContain(',"past-the-bound","carrier-pigeon",');
    await expectViewMatchesRows(one, ['c1']);
    await expectViewMatchesRows(two, ['c1']);
  });

  it("answers ProfileDataError for a customer whose stored attributes or view cannot be read, and the others' as before", async () => {
    const at = file();
    const store = open(at);
    for (const id of ['c-attributes', 'c-view', 'c-name', 'c-fine']) {
      await store.patch(id, { attributes: { tier: 'gold' } }, T0);
      await store.appendTouchpoints(id, [tp(T0 - 2, 'a'), tp(T0 - 1, 'b')], T0);
    }
    const raw = new Database(at);
    raw.prepare("UPDATE profiles SET attributes = '{\"tier\": gold' WHERE customer_id = 'c-attributes'").run();
    raw.prepare("UPDATE profiles SET decision_view_tail = decision_view_tail || ',1' WHERE customer_id = 'c-view'").run();
    raw.prepare("UPDATE profiles SET decision_view_tail = ',null,0,' || decision_view_newest WHERE customer_id = 'c-name'").run();
    raw.close();
    for (const id of ['c-attributes', 'c-view', 'c-name']) {
      await expect(store.getForDecision(id), id).rejects.toBeInstanceOf(ProfileDataError);
      await expect(store.getManyForDecision([id, 'c-fine']), id).rejects.toBeInstanceOf(ProfileDataError);
    }
    expect((await store.getForDecision('c-fine'))?.types).toEqual(['b', 'a']);
  });

  it("makes an older build's statements about touchpoints fail rather than leave the view behind", async () => {
    const at = file();
    const store = open(at);
    await store.appendTouchpoints('c1', [tp(T0 - 1, 'a')], T0);
    // What schema 6 called the rows' table: a process of that build still running on the file fails on its next one.
    const raw = new Database(at);
    try {
      expect(() => raw.prepare("INSERT INTO touchpoints (customer_id, type, channel, at) VALUES ('c1', 'b', 'web', ?)").run(T0)).toThrow(/no such table: touchpoints/);
      expect(() => raw.prepare("DELETE FROM touchpoints WHERE customer_id = 'c1'").run()).toThrow(/no such table: touchpoints/);
    } finally {
      raw.close();
    }
    await expectViewMatchesRows(store, ['c1']);
  });
});
