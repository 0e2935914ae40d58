import { createCachedStore, type CachedProfileStore } from './cached-store.js';
import { createMemoryStore } from './memory-store.js';
import { createSqliteStore } from './sqlite-store.js';
import type { ProfileStore, StoreLimits } from './store.js';

export type StoreKind = 'memory' | 'sqlite';

export interface ProfileStoreConfig {
  store: StoreKind;
  sqlitePath: string;
  retentionDays: number;
  maxTouchpointsPerProfile: number;
  /** LRU entries; 0 disables the cache. */
  cacheMax: number;
  /** The clock for retention on reads; tests inject one. */
  now?: () => number;
  /** Wraps the backend behind the cache, e.g. to time its calls (metrics); cache hits never reach it. */
  wrapBackend?: (backend: ProfileStore) => ProfileStore;
}

/** The configured store behind the profile cache: the one place that picks a concrete adapter. */
export function createProfileStore(config: ProfileStoreConfig): CachedProfileStore {
  const limits: StoreLimits = {
    retentionDays: config.retentionDays,
    maxTouchpointsPerProfile: config.maxTouchpointsPerProfile,
    ...(config.now ? { now: config.now } : {}),
  };
  const backend = createBackend(config, limits);
  const inner = config.wrapBackend ? config.wrapBackend(backend) : backend;
  // Memory and SQLite are written only through this process, so entries live until a write or eviction.
  // A shared store (redis) must also pass `ttlMs` (well under the 100 ms cross-replica bound) and call
  // `invalidate` on other replicas' change notifications.
  return createCachedStore(inner, { max: config.cacheMax, retentionDays: config.retentionDays, ...(config.now ? { now: config.now } : {}) });
}

function createBackend(config: ProfileStoreConfig, limits: StoreLimits): ProfileStore {
  switch (config.store) {
    case 'memory':
      return createMemoryStore(limits);
    case 'sqlite':
      return createSqliteStore({ ...limits, path: config.sqlitePath });
    // case 'redis': return createRedisStore({ ...limits, url: config.redisUrl });
    default:
      return unknownKind(config.store);
  }
}

function unknownKind(kind: never): never {
  throw new Error(`unknown profile store "${String(kind)}"`);
}
