import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisReportStore } from '../../src/reports/redis-report-store.js';
import { dayOf, DAY_MS } from '../../src/reports/report-store.js';
import { runReportStoreContract } from './report-store.contract.js';
import { deleteKeys, REDIS_URL, waitReady } from './redis-helpers.js';

runReportStoreContract(
  'redis',
  async (options) => {
    const keyPrefix = `nbtest:${randomUUID()}:`;
    const store = createRedisReportStore({ ...options, url: REDIS_URL, keyPrefix });
    await waitReady(store);
    return {
      store,
      async cleanup() {
        await store.close();
        await deleteKeys(keyPrefix);
      },
    };
  },
  { expiresByItself: true },
);

describe('redis report store data model', () => {
  const admin = new Redis(REDIS_URL);
  afterAll(async () => {
    await admin.quit();
  });

  it("keeps a placement's keys under one hash tag, each expiring when its day leaves retention", async () => {
    const keyPrefix = `nbtest:${randomUUID()}:`;
    const now = Date.now();
    const store = createRedisReportStore({ url: REDIS_URL, keyPrefix, retentionDays: 30, now: () => now });
    await waitReady(store);
    try {
      const day = dayOf(now);
      await store.addServed([{ placement: 'home-hero', rule: 'r', item: 'i', arm: null, day, count: 1 }]);
      await store.recordOutcomes([{ customerId: 'c', decisionId: 'd', placement: 'home-hero', item: 'i', rule: 'r', arm: null, kind: 'click', at: now, value: null }]);
      const keys = (await admin.keys(`${keyPrefix}*`)).sort();
      expect(keys).toEqual([`${keyPrefix}r:{home-hero}:${day}:a`, `${keyPrefix}r:{home-hero}:${day}:o`]);
      const expected = Date.parse(`${day}T00:00:00Z`) + 30 * DAY_MS;
      for (const key of keys) expect(await admin.pexpiretime(key)).toBe(expected);
    } finally {
      await store.close();
      await deleteKeys(keyPrefix);
    }
  });
});
