import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/domain/errors.js';
import type { StoredTouchpoint } from '../../src/domain/touchpoint.js';
import { createSqliteReader, ReaderFailedError, type SqliteReader } from '../../src/profiles/sqlite-reader.js';
import { createSqliteStore } from '../../src/profiles/sqlite-store.js';
import type { ProfileStore } from '../../src/profiles/store.js';
import { makeTempDir } from './temp-dir.js';

/**
 * The SQLite store's reader thread (src/profiles/sqlite-reader.ts) on a real
 * file: what it hands over, and what happens when it cannot read. The store's
 * answers through it are held to the store contract (sqlite-store.test.ts and
 * sqlite-decision-view.test.ts run with every group read on the thread).
 */
const T0 = Date.UTC(2026, 0, 15);
const DAY_MS = 86_400_000;

describe('sqlite reader thread', () => {
  const temps: Array<{ remove(): void }> = [];
  const closing: Array<{ close(): Promise<void> }> = [];

  afterEach(async () => {
    for (const open of closing.splice(0)) await open.close();
    for (const temp of temps.splice(0)) temp.remove();
  });

  function file(): string {
    const temp = makeTempDir();
    temps.push(temp);
    return path.join(temp.dir, 'profiles.db');
  }

  function store(at: string, onReaderFailure: (error: Error) => void = () => undefined): ProfileStore {
    const opened = createSqliteStore({ retentionDays: 30, maxTouchpointsPerProfile: 100, now: () => T0, path: at, readerThread: true, readerMinCustomers: 1, onReaderFailure });
    closing.push(opened);
    return opened;
  }

  function reader(at: string, onFailure: (error: Error) => void = () => undefined): SqliteReader {
    const opened = createSqliteReader({ path: at, busyTimeoutMs: 1000 }, onFailure);
    closing.push(opened);
    return opened;
  }

  const tp = (at: number, type: string, channel = 'web'): StoredTouchpoint => ({ id: null, type, channel, at, properties: null });

  it('hands over a group: each customer found once, in the order asked, its live touchpoints newest first in two typed arrays', async () => {
    const at = file();
    const writer = store(at);
    await writer.patch('c1', { attributes: { tier: 'gold' }, stage: 'retention' }, T0);
    await writer.appendTouchpoints('c1', [tp(T0 - 40 * DAY_MS, 'expired'), tp(T0 - 2, 'page_view'), tp(T0 - 1, 'cart_add', 'app')], T0);
    await writer.appendTouchpoints('c2', [tp(T0 - 5, 'page_view', 'email')], T0);
    await writer.appendOutcomes('c2', [{ decisionId: 'd1', placement: 'home-hero', item: 'i1', rule: null, arm: null, kind: 'click', at: T0 - 3, value: null }], T0);

    const answer = await reader(at).read(['c2', 'nobody', 'c1', 'c2'], T0 - 30 * DAY_MS);
    if (!('group' in answer)) throw new Error(`expected a group, got ${JSON.stringify(answer)}`);
    const { found, names, texts, at: times } = answer.group;
    expect(found).toEqual([
      ['c2', 'c2', '{}', null, 1, [['click', 'i1', 'home-hero', T0 - 3]]],
      ['c1', 'c1', '{"tier":"gold"}', 'retention', 2, null],
    ]);
    expect(texts).toEqual([]);
    expect([...times]).toEqual([T0 - 5, T0 - 1, T0 - 2]);
    expect(names).toBeInstanceOf(Int32Array);
    expect(names.length).toBe(6);
    // The same numbers for the same names.
    expect(names[2]).not.toBe(names[4]);
    expect(names[0]).toBe(names[4]);
  });

  it('fails the reads of a thread that cannot open its file with ReaderFailedError, says so, and starts a new thread on the next read', async () => {
    const failures: Error[] = [];
    const gone = reader(path.join(file(), 'missing.db'), (error) => failures.push(error));
    await expect(gone.read(['c1'], 0)).rejects.toBeInstanceOf(ReaderFailedError);
    await expect(gone.read(['c1'], 0)).rejects.toBeInstanceOf(ReaderFailedError);
    expect(failures).toHaveLength(2);
    expect(failures[0]?.message).toMatch(/the SQLite reader thread failed/);
  });

  it('answers group reads on the store thread when the reader thread fails, and tells onReaderFailure', async () => {
    const at = file();
    const failures: Error[] = [];
    const opened = store(at, (error) => failures.push(error));
    await opened.appendTouchpoints('c1', [tp(T0 - 1, 'page_view')], T0);
    // The file moved after the store opened it: the store's connection still reads it, a new thread cannot open it.
    fs.renameSync(at, `${at}.moved`);
    const many = await opened.getManyForDecision(['c1', 'c2']);
    expect(many.get('c1')?.types).toEqual(['page_view']);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toBeInstanceOf(ReaderFailedError);
  });

  it('sees every write that has resolved, read right after it', async () => {
    const at = file();
    const failures: Error[] = [];
    const opened = store(at, (error) => failures.push(error));
    for (let i = 0; i < 20; i++) {
      await opened.appendTouchpoints('c1', [tp(T0 - 100 + i, `type-${i}`)], T0);
      const many = await opened.getManyForDecision(['c1']);
      expect(many.get('c1')?.types.length, `after write ${i}`).toBe(i + 1);
      expect(many.get('c1')?.types[0]).toBe(`type-${i}`);
    }
    expect(failures).toEqual([]);
  });

  it('answers a group read still in flight when the store closes as unavailable', async () => {
    const opened = createSqliteStore({ retentionDays: 30, maxTouchpointsPerProfile: 100, path: file(), readerThread: true, readerMinCustomers: 1 });
    const answered = expect(opened.getManyForDecision(['c1', 'c2'])).rejects.toBeInstanceOf(StoreUnavailableError);
    await opened.close();
    await answered;
  });
});
