import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { ProfileDataError } from '../../src/domain/errors.js';
import { createProfileStore } from '../../src/composition.js';
import { createRedisStore } from '../../src/profiles/redis-store.js';
import { runProfileStoreContract } from './profile-store.contract.js';
import { REDIS_URL, deleteKeys, openRedisStore, waitReady } from './redis-helpers.js';

// The real Redis the tests found or started (test/global-redis.ts).
runProfileStoreContract('redis', (limits) => openRedisStore(limits));

describe('redis store data model', () => {
  const admin = new Redis(REDIS_URL);
  const T0 = Date.UTC(2026, 0, 15, 12);

  afterAll(async () => {
    await admin.quit();
  });

  async function openStore(keyPrefix: string) {
    const store = createRedisStore({ retentionDays: 30, maxTouchpointsPerProfile: 3, now: () => T0, url: REDIS_URL, keyPrefix });
    await waitReady(store);
    return store;
  }

  it('keeps a customer in keys under its hash tag, and delete removes them all', async () => {
    const prefix = `nbtest:${randomUUID()}:`;
    const store = await openStore(prefix);
    try {
      await store.appendTouchpoints('c:1@x', [{ id: 'tp-1', type: 'cart_add', channel: 'web', at: T0, properties: { sku: 'A' } }], T0);
      await store.patch('c:1@x', { attributes: { tier: 'gold' }, stage: 'retention' }, T0);
      await store.appendOutcomes('c:1@x', [{ decisionId: 'd-1', placement: 'p', item: 'i', rule: 'r', arm: null, kind: 'click', at: T0, value: 2 }], T0);
      const keys = (await admin.keys(`${prefix}*`)).sort();
      const day = Math.floor(T0 / (24 * 60 * 60 * 1000));
      expect(keys).toEqual([
        `${prefix}{c:1@x}:i`,
        `${prefix}{c:1@x}:o`,
        `${prefix}{c:1@x}:p`,
        `${prefix}{c:1@x}:t`,
        `${prefix}{c:1@x}:v`,
        `${prefix}{c:1@x}:x`,
        `${prefix}{outcome-totals}:${day}`,
      ]);
      expect(await store.delete('c:1@x')).toBe(true);
      // The customer's keys are gone; everyone's counts for that day are back to zero.
      expect(await admin.keys(`${prefix}{c:1@x}*`)).toEqual([]);
      expect(await admin.hget(`${prefix}{outcome-totals}:${day}`, 'i\nclick')).toBe('0');
    } finally {
      await store.close();
      await deleteKeys(prefix);
    }
  });

  it('drops the id index and extra fields of touchpoints trimmed by the cap', async () => {
    const prefix = `nbtest:${randomUUID()}:`;
    const store = await openStore(prefix);
    try {
      const batch = Array.from({ length: 5 }, (_, n) => ({ id: `tp-${n}`, type: 'page_view', channel: 'web', at: T0 - n * 1000, properties: { n } }));
      expect(await store.appendTouchpoints('c1', batch, T0)).toMatchObject({ accepted: 5, duplicates: 0, expired: 0 });
      expect(await admin.zcard(`${prefix}{c1}:t`)).toBe(3);
      expect((await admin.hkeys(`${prefix}{c1}:i`)).sort()).toEqual(['tp-0', 'tp-1', 'tp-2']);
      expect(await admin.hlen(`${prefix}{c1}:x`)).toBe(3);
    } finally {
      await store.close();
      await deleteKeys(prefix);
    }
  });

  it('keeps the id index exact when the cap drops touchpoints whose JSON cjson cannot read (lone surrogates)', async () => {
    const prefix = `nbtest:${randomUUID()}:`;
    const store = await openStore(prefix);
    try {
      // JavaScript writes a lone surrogate as \udXXX into the extra JSON, and the client sends it in the id as U+FFFD.
      for (let n = 0; n < 5; n++) {
        const sent = { id: `tp-${n}\ud800`, type: 'page_view', channel: 'web', at: T0 - (5 - n) * 1000, properties: { k: 'v\ud800' } };
        expect(await store.appendTouchpoints('c1', [sent], T0)).toMatchObject({ accepted: 1, duplicates: 0, expired: 0 });
      }
      expect(await admin.zcard(`${prefix}{c1}:t`)).toBe(3);
      expect(await admin.hlen(`${prefix}{c1}:x`)).toBe(3);
      const index = await admin.hgetall(`${prefix}{c1}:i`);
      expect(Object.keys(index).sort()).toEqual(['tp-2\ufffd', 'tp-3\ufffd', 'tp-4\ufffd']);
      for (const seq of Object.values(index)) expect(await admin.hexists(`${prefix}{c1}:x`, seq)).toBe(1);
      // Dropped by the cap, so no longer a duplicate.
      expect(await store.appendTouchpoints('c1', [{ id: 'tp-0\ud800', type: 'page_view', channel: 'web', at: T0, properties: null }], T0)).toMatchObject({
        accepted: 1,
        duplicates: 0,
        expired: 0,
      });
    } finally {
      await store.close();
      await deleteKeys(prefix);
    }
  });

  it('refuses a touchpoint without a finite time before writing anything', async () => {
    const prefix = `nbtest:${randomUUID()}:`;
    const store = await openStore(prefix);
    try {
      const good = { id: 'a', type: 'page_view', channel: 'web', at: T0, properties: null };
      const failure = await store.appendTouchpoints('c1', [good, { ...good, id: 'b', at: Number.NaN }], T0).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(ProfileDataError);
      expect(await admin.keys(`${prefix}*`)).toEqual([]);
    } finally {
      await store.close();
      await deleteKeys(prefix);
    }
  });

  it('checks the types of a customer\'s keys and its counters before writing anything, in append, patch and sweep', async () => {
    const prefix = `nbtest:${randomUUID()}:`;
    const warnings: string[] = [];
    const store = createRedisStore({
      retentionDays: 30,
      maxTouchpointsPerProfile: 3,
      now: () => T0,
      url: REDIS_URL,
      keyPrefix: prefix,
      onEvent: (event) => {
        if (event.kind === 'warning') warnings.push(event.message);
      },
    });
    await waitReady(store);
    try {
      const tp = { id: 'a', type: 'page_view', channel: 'web', at: T0 - 40 * 24 * 3600 * 1000, properties: null };
      // A timeline that is not a sorted set: the append used to write the profile hash, then fail on it.
      await admin.set(`${prefix}{c1}:t`, 'not a sorted set');
      await expect(store.appendTouchpoints('c1', [{ ...tp, at: T0 }], T0)).rejects.toBeInstanceOf(ProfileDataError);
      expect(await admin.exists(`${prefix}{c1}:p`)).toBe(0);

      // A version counter that is not an integer: the patch used to write the attributes, then fail on it.
      await admin.hset(`${prefix}{c2}:p`, 'a', '{"tier":"gold"}', 'v', 'x');
      await expect(store.patch('c2', { attributes: { tier: 'silver' } }, T0)).rejects.toBeInstanceOf(ProfileDataError);
      expect(await admin.hget(`${prefix}{c2}:p`, 'a')).toBe('{"tier":"gold"}');

      // The sweep passes over the corrupt customer, sweeps the others, and says so.
      await admin.hset(`${prefix}{c3}:p`, 'a', '{}');
      await admin.zadd(`${prefix}{c3}:t`, T0 - 40 * 24 * 3600 * 1000, '0000000000000001|page_view|web');
      await admin.set(`${prefix}{c3}:x`, 'not a hash');
      await store.appendTouchpoints('c4', [{ ...tp, id: null, at: T0 - 1000 }], T0 - 1000);
      await admin.zadd(`${prefix}{c4}:t`, T0 - 40 * 24 * 3600 * 1000, '00000000000000ff|page_view|web');
      expect(await store.sweepExpired(T0)).toBe(1);
      expect(await admin.zcard(`${prefix}{c4}:t`)).toBe(1);
      expect(await admin.zcard(`${prefix}{c3}:t`)).toBe(1);
      expect(warnings.filter((w) => w.includes('sweep'))).toEqual([expect.stringContaining('skipped 2 customer(s)')]);
    } finally {
      await store.close();
      await deleteKeys(prefix);
    }
  });

  it("one customer's corrupt keys fail that customer alone: not an outage, so the circuit breaker stays closed", async () => {
    const prefix = `nbtest:${randomUUID()}:`;
    const store = createProfileStore({
      store: 'redis',
      sqlitePath: '',
      redisUrl: REDIS_URL,
      redisKeyPrefix: prefix,
      retentionDays: 30,
      maxTouchpointsPerProfile: 3,
      cacheMax: 100,
      now: () => T0,
      circuitBreaker: { failures: 2, openMs: 60_000 },
    });
    try {
      await waitReady(store);
      await admin.set(`${prefix}{broken}:p`, 'not a hash');
      const tp = { id: null, type: 'page_view', channel: 'web', at: T0, properties: null };
      for (let n = 0; n < 3; n++) {
        await expect(store.appendTouchpoints('broken', [tp], T0)).rejects.toBeInstanceOf(ProfileDataError);
        await expect(store.getForDecision('broken')).rejects.toBeInstanceOf(ProfileDataError);
      }
      expect(await store.appendTouchpoints('innocent', [tp], T0)).toMatchObject({ accepted: 1, duplicates: 0, expired: 0 });
      expect((await store.getForDecision('innocent'))?.types).toEqual(['page_view']);
    } finally {
      await store.close();
      await deleteKeys(prefix);
    }
  });

  it('refuses outcomes before writing anything when a key of the customer has the wrong type, or a time is not finite', async () => {
    const prefix = `nbtest:${randomUUID()}:`;
    const store = await openStore(prefix);
    try {
      await admin.set(`${prefix}{c1}:o`, 'not a zset');
      const outcome = { decisionId: 'd-1', placement: 'p', item: 'i', rule: null, arm: null, kind: 'click' as const, at: T0, value: null };
      await expect(store.appendOutcomes('c1', [outcome], T0)).rejects.toThrow(/wrong type/);
      expect(await admin.exists(`${prefix}{c1}:p`)).toBe(0);
      await expect(store.appendOutcomes('c2', [{ ...outcome, at: Number.NaN }], T0)).rejects.toThrow(/finite time/);
      expect(await admin.exists(`${prefix}{c2}:p`)).toBe(0);
    } finally {
      await store.close();
      await deleteKeys(prefix);
    }
  });

  it('publishes every write on the change channel, with the customer id', async () => {
    const prefix = `nbtest:${randomUUID()}:`;
    const store = await openStore(prefix);
    const listener = admin.duplicate();
    const heard: string[] = [];
    try {
      await listener.subscribe(`${prefix}changes`);
      listener.on('message', (_channel: string, text: string) => heard.push(text.slice(text.indexOf(' ') + 1)));
      await store.appendTouchpoints('a', [{ id: null, type: 'page_view', channel: 'web', at: T0, properties: null }], T0);
      await store.patch('b', { attributes: { x: 1 } }, T0);
      await store.appendOutcomes('c', [{ decisionId: 'd-1', placement: 'p', item: 'i', rule: null, arm: null, kind: 'click', at: T0, value: null }], T0);
      await store.delete('a');
      await store.delete('never-seen');
      await expect.poll(() => heard).toEqual(['a', 'b', 'c', 'a']);
    } finally {
      await listener.quit();
      await store.close();
      await deleteKeys(prefix);
    }
  });

  it('applies concurrent patches of one customer one after another, losing none', async () => {
    const prefix = `nbtest:${randomUUID()}:`;
    // Two stores stand for two replicas: their patches compete through Redis.
    const stores = [await openStore(prefix), await openStore(prefix)];
    try {
      await Promise.all(
        Array.from({ length: 40 }, (_, n) => (stores[n % 2] as (typeof stores)[number]).patch('c1', { attributes: { [`k${n}`]: n } }, T0)),
      );
      const profile = await stores[0]?.get('c1');
      expect(Object.keys(profile?.attributes ?? {})).toHaveLength(40);
    } finally {
      for (const store of stores) await store.close();
      await deleteKeys(prefix);
    }
  });

  it('answers StoreUnavailableError at once when no Redis listens', async () => {
    const store = createRedisStore({ retentionDays: 30, maxTouchpointsPerProfile: 3, url: 'redis://127.0.0.1:1', keyPrefix: 'nbtest:none:' });
    try {
      await expect(store.getForDecision('c1')).rejects.toMatchObject({ name: 'StoreUnavailableError' });
      await expect(store.appendTouchpoints('c1', [], T0)).rejects.toMatchObject({ name: 'StoreUnavailableError' });
      await expect(store.ping()).rejects.toMatchObject({ name: 'StoreUnavailableError' });
    } finally {
      await store.close();
    }
  });

  it("says why in plain words (what /readyz shows), not in the client's option names", async () => {
    const store = createRedisStore({ retentionDays: 30, maxTouchpointsPerProfile: 3, url: 'redis://127.0.0.1:1', keyPrefix: 'nbtest:none:' });
    try {
      const failure = await store.ping().then(
        () => null,
        (err: Error) => err,
      );
      expect(failure?.message).toMatch(/^the redis profile store failed ping \(never connected\): not connected to Redis \(reconnecting\)$/);
      expect(failure?.message).not.toMatch(/enableOfflineQueue|Stream isn't writeable/);
    } finally {
      await store.close();
    }
  });
});

describe('redis stores behind caches, as on two replicas', () => {
  const T0 = Date.UTC(2026, 0, 15, 12);

  async function replica(keyPrefix: string) {
    const store = createProfileStore({
      store: 'redis',
      sqlitePath: '',
      redisUrl: REDIS_URL,
      redisKeyPrefix: keyPrefix,
      retentionDays: 30,
      maxTouchpointsPerProfile: 100,
      cacheMax: 100,
      now: () => T0,
    });
    await waitReady(store);
    // The change feed subscribes on a connection of its own; until then the cache reads through.
    await until(async () => store.stats().suspended, false);
    return store;
  }

  /** Polls until the read gives what is expected; returns how long it took. */
  async function until(read: () => Promise<unknown>, expected: unknown): Promise<number> {
    const started = performance.now();
    for (;;) {
      const value = await read();
      if (JSON.stringify(value) === JSON.stringify(expected)) return performance.now() - started;
      if (performance.now() - started > 5000) expect(value).toEqual(expected);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }

  it("a write through one drops the other one's cached profile: patch, append, outcomes, delete", async () => {
    const prefix = `nbtest:${randomUUID()}:`;
    const a = await replica(prefix);
    const b = await replica(prefix);
    try {
      await a.patch('c1', { attributes: { tier: 'silver' } }, T0);
      const tierOnB = async () => (await b.getForDecision('c1'))?.attributes.tier ?? null;
      await until(tierOnB, 'silver');
      // Served from B's cache from now on.
      const before = b.stats().hits;
      expect(await tierOnB()).toBe('silver');
      expect(b.stats().hits).toBe(before + 1);

      await a.patch('c1', { attributes: { tier: 'gold' } }, T0);
      const patched = await until(tierOnB, 'gold');

      const typesOnB = async () => [...((await b.getForDecision('c1'))?.types ?? [])];
      await a.appendTouchpoints('c1', [{ id: 'tp-1', type: 'cart_add', channel: 'web', at: T0, properties: null }], T0);
      const appended = await until(typesOnB, ['cart_add']);

      // Outcomes too: caps and the outcomeCount fact on B see an outcome written through A.
      const outcomeKindsOnB = async () => [...((await b.getForDecision('c1'))?.outcomes.kinds ?? [])];
      await a.appendOutcomes('c1', [{ decisionId: 'd-1', placement: 'home-hero', item: 'hero-a', rule: null, arm: null, kind: 'click', at: T0, value: null }], T0);
      await until(outcomeKindsOnB, ['click']);

      await a.delete('c1');
      const deleted = await until(async () => b.getForDecision('c1'), null);
      console.log(`invalidation seen by the other replica after: patch ${patched.toFixed(1)} ms, append ${appended.toFixed(1)} ms, delete ${deleted.toFixed(1)} ms`);
    } finally {
      await a.close();
      await b.close();
      await deleteKeys(prefix);
    }
  });
});
