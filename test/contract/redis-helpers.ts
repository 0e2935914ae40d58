import { Redis } from 'ioredis';
import { inject } from 'vitest';
import { randomUUID } from 'node:crypto';
import { createRedisStore } from '../../src/profiles/redis-store.js';
import type { ProfileStore, StoreLimits } from '../../src/profiles/store.js';
import type { StoreHandle } from './profile-store.contract.js';

/** The Redis the tests use: the one on 6379, or one started for the run (test/global-redis.ts). */
export const REDIS_URL = inject('redisUrl');

/** Removes every key under the prefix (test data only). */
export async function deleteKeys(prefix: string): Promise<void> {
  const admin = new Redis(REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await admin.del(...keys);
    } while (cursor !== '0');
  } finally {
    await admin.quit();
  }
}

/** Waits until the store answers: a network store fails commands until it has connected. */
export async function waitReady(store: { ping(): Promise<void> }): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await store.ping();
      return;
    } catch (error) {
      if (attempt >= 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

export interface OpenRedisOptions {
  /** Puts something in front of each store (the cache); default: none. */
  wrap?: (store: ProfileStore) => ProfileStore;
  /** A cluster's seed URL instead of REDIS_URL: a cluster a test file throws away with its keys, so none are deleted. */
  clusterUrl?: string;
}

/**
 * A Redis store for the contract suite, under a key prefix of its own (tests
 * run in parallel), ready to answer; `wrap` puts something in front (the
 * cache). Cleanup closes every store it opened and deletes
 * their keys (on REDIS_URL).
 */
export async function openRedisStore(limits: StoreLimits, options: OpenRedisOptions = {}): Promise<StoreHandle> {
  const { wrap = (store: ProfileStore) => store, clusterUrl } = options;
  const target = clusterUrl === undefined ? { url: REDIS_URL } : { url: clusterUrl, cluster: true };
  const keyPrefix = `nbtest:${randomUUID()}:`;
  const stores: ProfileStore[] = [];
  const openOne = async (): Promise<ProfileStore> => {
    const store = wrap(createRedisStore({ ...limits, ...target, keyPrefix }));
    stores.push(store);
    await waitReady(store);
    return store;
  };
  return {
    store: await openOne(),
    openAnother: openOne,
    async cleanup() {
      for (const store of stores) await store.close();
      if (clusterUrl === undefined) await deleteKeys(keyPrefix);
    },
  };
}
