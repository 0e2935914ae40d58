import { randomUUID } from 'node:crypto';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProfileStore } from '../../src/main.js';
import { createRedisStore } from '../../src/profiles/redis-store.js';
import { runProfileStoreContract } from './profile-store.contract.js';
import { startRedisCluster, type RedisCluster } from './redis-cluster.js';
import { waitReady } from './redis-helpers.js';

// A real three-master Redis Cluster, started for this file: every script must
// keep to one hash slot, sweeps must scan every master, and change messages
// must reach subscribers connected to other nodes.
let cluster: RedisCluster;

beforeAll(async () => {
  cluster = await startRedisCluster();
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

runProfileStoreContract('redis cluster', async (limits) => {
  const store = createRedisStore({ ...limits, url: cluster.url, cluster: true, keyPrefix: `nbtest:${randomUUID()}:` });
  await waitReady(store);
  // The cluster is thrown away after the file, so the keys need no cleanup.
  return { store, cleanup: () => store.close() };
});

describe('redis store on a cluster', () => {
  const T0 = Date.UTC(2026, 0, 15, 12);

  it('keeps each customer on one slot and spreads customers over every master', async () => {
    const prefix = `nbtest:${randomUUID()}:`;
    const store = createRedisStore({ retentionDays: 30, maxTouchpointsPerProfile: 10, url: cluster.url, cluster: true, keyPrefix: prefix });
    const admin = new Cluster(cluster.url.split(','));
    try {
      await waitReady(store);
      for (let n = 0; n < 30; n++) await store.appendTouchpoints(`c-${n}`, [{ id: 'tp', type: 'page_view', channel: 'web', at: T0, properties: null }], T0);
      // Each customer's keys hash to one slot, as the scripts need (the cluster would refuse them otherwise).
      for (const customerId of ['c-0', 'c-7', 'c-29']) {
        const slots = await Promise.all(['p', 't', 'x', 'i'].map((key) => admin.cluster('KEYSLOT', `${prefix}{${customerId}}:${key}`)));
        expect(new Set(slots).size).toBe(1);
      }
      const perMaster = await Promise.all(admin.nodes('master').map(async (node) => (await node.keys(`${prefix}*`)).length));
      expect(perMaster.every((keys) => keys > 0)).toBe(true);
      expect(perMaster.reduce((a, b) => a + b, 0)).toBe(30 * 4); // p, t, x and i of each
      expect(await store.sweepExpired(T0 + 31 * 24 * 60 * 60 * 1000)).toBe(30);
    } finally {
      await store.close();
      await admin.quit();
    }
  });

  it('a write through one replica drops the cached profile on another', async () => {
    const prefix = `nbtest:${randomUUID()}:`;
    const replica = async () => {
      const store = createProfileStore({
        store: 'redis',
        sqlitePath: '',
        redisUrl: cluster.url,
        redisCluster: true,
        redisKeyPrefix: prefix,
        retentionDays: 30,
        maxTouchpointsPerProfile: 100,
        cacheMax: 100,
        now: () => T0,
      });
      await waitReady(store);
      await expect.poll(() => store.stats().suspended, { timeout: 5000 }).toBe(false);
      return store;
    };
    const a = await replica();
    const b = await replica();
    try {
      // Customers on every slot range, so messages cross nodes.
      const ids = Array.from({ length: 12 }, (_, n) => `c-${n}`);
      for (const id of ids) await a.patch(id, { attributes: { v: 1 } }, T0);
      for (const id of ids) expect((await b.getForDecision(id))?.attributes).toEqual({ v: 1 });
      for (const id of ids) await a.patch(id, { attributes: { v: 2 } }, T0);
      for (const id of ids) await expect.poll(async () => (await b.getForDecision(id))?.attributes, { timeout: 5000 }).toEqual({ v: 2 });
    } finally {
      await a.close();
      await b.close();
    }
  });
});
