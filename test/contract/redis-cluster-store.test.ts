import { randomUUID } from 'node:crypto';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProfileStore } from '../../src/composition.js';
import { createRedisStore, type ClusterMergeStep, type DeleteStep } from '../../src/profiles/redis-store.js';
import type { ProfileStore } from '../../src/profiles/store.js';
import { runProfileStoreContract } from './profile-store.contract.js';
import { startRedisCluster, type RedisCluster } from './redis-cluster.js';
import { openRedisStore, waitReady } from './redis-helpers.js';

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

// The cluster is thrown away after the file, so the keys need no cleanup.
runProfileStoreContract('redis cluster', (limits) => openRedisStore(limits, { clusterUrl: cluster.url }));

describe('redis store on a cluster', () => {
  const T0 = Date.UTC(2026, 0, 15, 12);

  /** A store on the cluster under `prefix`, at T0, whose merges and deletes stop with "crash after <step>" at `crashAt.step`. */
  function storeCrashingAt(prefix: string, crashAt: { step: string | null }): ProfileStore {
    const crash = (step: string): void => {
      if (step === crashAt.step) throw new Error(`crash after ${step}`);
    };
    return createRedisStore({
      retentionDays: 30,
      maxTouchpointsPerProfile: 100,
      url: cluster.url,
      cluster: true,
      keyPrefix: prefix,
      now: () => T0,
      afterMergeStep: crash,
      afterDeleteStep: crash,
    });
  }

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

  describe('a merge that crashes between its steps loses and doubles nothing', () => {
    const MINUTE = 60 * 1000;
    const steps: ClusterMergeStep[] = ['begin', 'copy', 'finish', 'repoint'];

    /** The canonical customer and the alias (with an alias of its own), in different slots; returns the store. */
    async function setUp(prefix: string, crashAt: { step: ClusterMergeStep | null }) {
      const store = storeCrashingAt(prefix, crashAt);
      await waitReady(store);
      const tp = (id: string | null, minutesAgo: number) => ({ id, type: 'page_view', channel: 'web', at: T0 - minutesAgo * MINUTE, properties: id ? { id } : null });
      const outcome = (decisionId: string) => ({ decisionId, placement: 'home-hero', item: 'hero-a', rule: 'r1', arm: null, kind: 'click' as const, at: T0, value: null });
      await store.appendTouchpoints('canonical', [tp('shared', 5), tp('c-only', 4), tp(null, 3)], T0);
      await store.appendTouchpoints('alias', [tp('shared', 2), tp('a-only', 1), tp(null, 0)], T0);
      await store.appendOutcomes('canonical', [outcome('d-1')], T0);
      await store.appendOutcomes('alias', [outcome('d-1'), outcome('d-2')], T0);
      await store.patch('alias', { attributes: { device: 'phone' } }, T0);
      await store.appendTouchpoints('alias-of-alias', [tp('aa', 6)], T0);
      expect((await store.addAlias('alias', 'alias-of-alias', T0)).kind).toBe('merged');
      return store;
    }

    async function expectMerged(store: ProfileStore): Promise<void> {
      const profile = await store.get('canonical');
      expect(profile?.touchpoints.map((tp) => tp.id ?? '-').sort()).toEqual(['-', '-', 'a-only', 'aa', 'c-only', 'shared']);
      expect(profile?.outcomes?.map((o) => o.decisionId).sort()).toEqual(['d-1', 'd-2']);
      expect(profile?.attributes).toEqual({ device: 'phone' });
      expect(profile?.aliases).toEqual(['alias', 'alias-of-alias']);
      for (const id of ['alias', 'alias-of-alias']) {
        expect(await store.resolve(id)).toBe('canonical');
        expect((await store.get(id))?.customerId).toBe('canonical');
      }
    }

    it('puts the customers in different slots', async () => {
      const admin = new Cluster(cluster.url.split(','));
      try {
        const slots = await Promise.all(['canonical', 'alias', 'alias-of-alias'].map((id) => admin.cluster('KEYSLOT', `{${id}}`)));
        expect(new Set(slots).size).toBe(3);
      } finally {
        await admin.quit();
      }
    });

    it.each(steps)('after %s: the next addAlias completes it', async (step) => {
      const crashAt: { step: ClusterMergeStep | null } = { step: null };
      const store = await setUp(`nbtest:${randomUUID()}:`, crashAt);
      try {
        crashAt.step = step;
        await expect(store.addAlias('canonical', 'alias', T0)).rejects.toThrow(`crash after ${step}`);
        crashAt.step = null;
        expect(await store.addAlias('canonical', 'alias', T0)).toMatchObject({ kind: 'merged' });
        await expectMerged(store);
      } finally {
        await store.close();
      }
    });

    it.each(steps)('after %s: another process reading or writing the alias completes it', async (step) => {
      const prefix = `nbtest:${randomUUID()}:`;
      const crashAt: { step: ClusterMergeStep | null } = { step };
      const crashed = await setUp(prefix, { step: null });
      const crashing = storeCrashingAt(prefix, crashAt);
      try {
        await waitReady(crashing);
        await expect(crashing.addAlias('canonical', 'alias', T0)).rejects.toThrow(`crash after ${step}`);
        // Another replica writes to the alias: the touchpoint lands on the canonical customer, after the merge.
        expect(await crashed.appendTouchpoints('alias', [{ id: 'late', type: 'page_view', channel: 'web', at: T0, properties: null }], T0)).toMatchObject({
          customerId: 'canonical',
          accepted: 1,
        });
        const profile = await crashed.get('canonical');
        expect(profile?.touchpoints.map((tp) => tp.id ?? '-').sort()).toEqual(['-', '-', 'a-only', 'aa', 'c-only', 'late', 'shared']);
        expect(profile?.outcomes?.map((o) => o.decisionId).sort()).toEqual(['d-1', 'd-2']);
        expect(await crashed.addAlias('canonical', 'alias', T0)).toMatchObject({ kind: 'merged' });
        expect((await crashed.get('alias-of-alias'))?.aliases).toEqual(['alias', 'alias-of-alias']);
      } finally {
        await crashing.close();
        await crashed.close();
      }
    });
  });

  describe('a delete that crashes between its steps is finished by deleting again', () => {
    const tp = { id: 'tp', type: 'page_view', channel: 'web', at: T0, properties: null };

    it.each<[DeleteStep, string]>([
      ['data', 'alias'],
      ['data', 'canonical'],
      ['pointers', 'canonical'],
    ])('after %s, deleting again through %s erases every id of the customer', async (step, again) => {
      const prefix = `nbtest:${randomUUID()}:`;
      const crashAt: { step: DeleteStep | null } = { step: null };
      const store = storeCrashingAt(prefix, crashAt);
      const admin = new Cluster(cluster.url.split(','));
      try {
        await waitReady(store);
        await store.appendTouchpoints('canonical', [tp], T0);
        await store.appendTouchpoints('alias', [{ ...tp, id: 'tp-2' }], T0);
        expect((await store.addAlias('canonical', 'alias', T0)).kind).toBe('merged');
        expect((await store.addAlias('canonical', 'other', T0)).kind).toBe('merged');
        crashAt.step = step;
        await expect(store.delete('alias')).rejects.toThrow(`crash after ${step}`);
        crashAt.step = null;
        expect(await store.delete(again)).toBe(true);
        for (const id of ['canonical', 'alias', 'other']) {
          expect(await store.get(id)).toBeNull();
          expect(await store.resolve(id)).toBe(id);
        }
        // Nothing of the customer is left under the prefix on any master: no data, no pointer, no alias set.
        const left: string[] = [];
        for (const node of admin.nodes('master')) left.push(...(await node.keys(`${prefix}*`)).filter((key) => !key.includes('{__shared')));
        expect(left.filter((key) => /\{(canonical|alias|other)\}/.test(key))).toEqual([]);
      } finally {
        await admin.quit();
        await store.close();
      }
    });
  });
});
