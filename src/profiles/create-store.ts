import { createCachedStore, type CachedProfileStore } from './cached-store.js';
import { createMemoryStore } from './memory-store.js';
import { createRedisStore, type RedisProfileStore, type RedisStoreEvent } from './redis-store.js';
import { createSqliteStore } from './sqlite-store.js';
import type { ProfileStore, StoreLimits } from './store.js';
import { createCircuitBreakerStore, type CircuitBreakerOptions } from './circuit-breaker-store.js';
import { createTimeoutStore } from './timeout-store.js';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
/** STORE_TIMEOUT_MS's default. */
export const DEFAULT_STORE_TIMEOUT_MS = 1000;
/** After 5 store failures in a row, cache misses skip the store for half a second. */
export const DEFAULT_CIRCUIT_BREAKER: CircuitBreakerOptions = { failures: 5, openMs: 500 };

export type StoreKind = 'memory' | 'sqlite' | 'redis';

export interface ProfileStoreConfig {
  store: StoreKind;
  sqlitePath: string;
  /** For `redis`: the server's URL, or with `redisCluster` the seed nodes, comma-separated. */
  redisUrl?: string;
  redisCluster?: boolean;
  redisKeyPrefix?: string;
  /** For `redis`: connection news for the log. */
  onRedisEvent?: (event: RedisStoreEvent) => void;
  retentionDays: number;
  maxTouchpointsPerProfile: number;
  /** LRU entries; 0 disables the cache. */
  cacheMax: number;
  /** The clock for retention on reads; tests inject one. */
  now?: () => number;
  /** Wraps the backend behind the cache, e.g. to time its calls (metrics); cache hits never reach it. */
  wrapBackend?: (backend: ProfileStore) => ProfileStore;
  /** How long a backend call may take before it fails with StoreUnavailableError; default 1000. */
  storeTimeoutMs?: number;
  /** Skips a failing backend for a moment (circuit-breaker-store.ts); false turns it off. */
  circuitBreaker?: CircuitBreakerOptions | false;
}

/** The configured store behind the profile cache: the one place that picks a concrete adapter. */
export function createProfileStore(config: ProfileStoreConfig): CachedProfileStore {
  const limits: StoreLimits = {
    retentionDays: config.retentionDays,
    maxTouchpointsPerProfile: config.maxTouchpointsPerProfile,
    ...(config.now ? { now: config.now } : {}),
  };
  const backend = createBackend(config, limits);
  const wrapped = config.wrapBackend ? config.wrapBackend(backend) : backend;
  // The timeout sits behind the cache, so a cache hit never waits on a slow store; outside the
  // metrics wrapper, so the store's duration histogram shows how long calls really took.
  const timed = createTimeoutStore(wrapped, { timeoutMs: config.storeTimeoutMs ?? DEFAULT_STORE_TIMEOUT_MS });
  const breaker = config.circuitBreaker ?? DEFAULT_CIRCUIT_BREAKER;
  const inner = breaker ? createCircuitBreakerStore(timed, breaker) : timed;
  const cached = createCachedStore(inner, { max: config.cacheMax, retentionDays: config.retentionDays, ...(config.now ? { now: config.now } : {}) });
  // Memory and SQLite are written only through this process, so entries live until a write or eviction.
  // Redis is shared: every replica publishes what it changes, and the others drop their copies.
  if (isRedis(backend)) {
    backend.watchChanges({
      changed: (customerId) => cached.invalidate(customerId),
      suspend: () => cached.suspend(),
      resume: () => cached.resume(),
    });
  }
  return cached;
}

function isRedis(store: ProfileStore): store is RedisProfileStore {
  return store.kind === 'redis' && 'watchChanges' in store;
}

function createBackend(config: ProfileStoreConfig, limits: StoreLimits): ProfileStore {
  switch (config.store) {
    case 'memory':
      return createMemoryStore(limits);
    case 'sqlite':
      return createSqliteStore({ ...limits, path: config.sqlitePath });
    case 'redis':
      return createRedisStore({
        ...limits,
        url: config.redisUrl ?? DEFAULT_REDIS_URL,
        ...(config.redisCluster ? { cluster: true } : {}),
        ...(config.redisKeyPrefix !== undefined ? { keyPrefix: config.redisKeyPrefix } : {}),
        ...(config.onRedisEvent ? { onEvent: config.onRedisEvent } : {}),
      });
    default:
      return unknownKind(config.store);
  }
}

function unknownKind(kind: never): never {
  throw new Error(`unknown profile store "${String(kind)}"`);
}
