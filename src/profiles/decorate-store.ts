import { createCachedStore, type CachedProfileStore } from './cached-store.js';
import { createCircuitBreakerStore, type CircuitBreakerOptions } from './circuit-breaker-store.js';
import type { ChangeFeed, ProfileStore } from './store.js';
import { createTimeoutStore } from './timeout-store.js';

/** STORE_TIMEOUT_MS's default. */
export const DEFAULT_STORE_TIMEOUT_MS = 1000;
/** After 5 store failures in a row, cache misses skip the store for half a second. */
export const DEFAULT_CIRCUIT_BREAKER: CircuitBreakerOptions = { failures: 5, openMs: 500 };

export interface DecorateOptions {
  /** LRU entries; 0 disables the cache. */
  cacheMax: number;
  /** The backend's retention, so cached profiles age as the backend's reads would. */
  retentionDays: number;
  /** The clock for that retention; tests inject one. */
  now?: () => number;
  /** Wraps the backend behind the cache, e.g. to time its calls (metrics); cache hits never reach it. */
  wrapBackend?: (backend: ProfileStore) => ProfileStore;
  /** How long a backend call may take before it fails with StoreUnavailableError; default 1000. */
  storeTimeoutMs?: number;
  /** Skips a failing backend for a moment (circuit-breaker-store.ts); false turns it off. */
  circuitBreaker?: CircuitBreakerOptions | false;
  /**
   * A shared backend's news of other replicas' writes (the redis store):
   * the cache drops what they changed. Without one, entries live until a
   * write through this process or eviction, which is right for a store only
   * this process writes (memory, SQLite).
   */
  changes?: ChangeFeed;
}

/**
 * Whatever backend the composition root picked, behind the same stack:
 * cache → circuit breaker → timeout → (metrics) → backend.
 *
 * The timeout sits behind the cache, so a cache hit never waits on a slow
 * store; outside the metrics wrapper, so the store's duration histogram shows
 * how long calls really took. The breaker sits in front of the timeout, so
 * while it is open a cache miss fails at once instead of waiting out
 * STORE_TIMEOUT_MS.
 */
export function decorateProfileStore(backend: ProfileStore, options: DecorateOptions): CachedProfileStore {
  const wrapped = options.wrapBackend ? options.wrapBackend(backend) : backend;
  const timed = createTimeoutStore(wrapped, { timeoutMs: options.storeTimeoutMs ?? DEFAULT_STORE_TIMEOUT_MS });
  const breaker = options.circuitBreaker ?? DEFAULT_CIRCUIT_BREAKER;
  const inner = breaker ? createCircuitBreakerStore(timed, breaker) : timed;
  const cached = createCachedStore(inner, { max: options.cacheMax, retentionDays: options.retentionDays, ...(options.now ? { now: options.now } : {}) });
  options.changes?.watchChanges({
    changed: (customerId) => cached.invalidate(customerId),
    suspend: () => cached.suspend(),
    resume: () => cached.resume(),
  });
  return cached;
}
