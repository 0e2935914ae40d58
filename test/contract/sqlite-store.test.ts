import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/domain/errors.js';
import { createSqliteStore } from '../../src/profiles/sqlite-store.js';
import type { StoredTouchpoint } from '../../src/domain/touchpoint.js';
import { runProfileStoreContract } from './profile-store.contract.js';
import { makeTempDir } from './temp-dir.js';

runProfileStoreContract('sqlite', async (limits) => {
  const temp = makeTempDir();
  const store = createSqliteStore({ ...limits, path: path.join(temp.dir, 'profiles.db') });
  return {
    store,
    async cleanup() {
      await store.close();
      temp.remove();
    },
  };
});

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
    expect(await second.appendTouchpoints('c1', touchpoints.slice(0, 3), T0 + 2)).toEqual({ accepted: 0, duplicates: 3, expired: 0 });
    await second.close();
  });

  it('uses WAL, records its schema version and refuses a newer one', async () => {
    const file = path.join(tempDir(), 'profiles.db');
    await createSqliteStore({ ...limits, path: file }).close();

    const raw = new Database(file);
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(raw.pragma('user_version', { simple: true })).toBe(1);
    raw.pragma('user_version = 99');
    raw.close();

    expect(() => createSqliteStore({ ...limits, path: file })).toThrow(/schema version 99/);
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
