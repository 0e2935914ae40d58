import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createProfileStore } from '../../src/main.js';
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

  it('keeps a customer in four keys under its hash tag, and delete removes them all', async () => {
    const prefix = `nbtest:${randomUUID()}:`;
    const store = await openStore(prefix);
    try {
      await store.appendTouchpoints('c:1@x', [{ id: 'tp-1', type: 'cart_add', channel: 'web', at: T0, properties: { sku: 'A' } }], T0);
      await store.patch('c:1@x', { attributes: { tier: 'gold' }, stage: 'retention' }, T0);
      const keys = (await admin.keys(`${prefix}*`)).sort();
      expect(keys).toEqual([`${prefix}{c:1@x}:i`, `${prefix}{c:1@x}:p`, `${prefix}{c:1@x}:t`, `${prefix}{c:1@x}:x`]);
      expect(await store.delete('c:1@x')).toBe(true);
      expect(await admin.keys(`${prefix}*`)).toEqual([]);
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
      expect(await store.appendTouchpoints('c1', batch, T0)).toEqual({ accepted: 5, duplicates: 0 });
      expect(await admin.zcard(`${prefix}{c1}:t`)).toBe(3);
      expect((await admin.hkeys(`${prefix}{c1}:i`)).sort()).toEqual(['tp-0', 'tp-1', 'tp-2']);
      expect(await admin.hlen(`${prefix}{c1}:x`)).toBe(3);
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
      await store.delete('a');
      await store.delete('never-seen');
      await expect.poll(() => heard).toEqual(['a', 'b', 'a']);
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

  it("a write through one drops the other one's cached profile: patch, append, delete", async () => {
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
