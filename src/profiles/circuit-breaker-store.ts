import { StoreUnavailableError } from '../domain/errors.js';
import { PROFILE_STORE_METHODS, type ProfileStore, type ProfileStoreMethod } from './store.js';
import { wrapStore } from './wrap-store.js';

export interface CircuitBreakerOptions {
  /** Consecutive StoreUnavailableErrors after which the store is skipped. */
  failures: number;
  /** How long it is skipped; the first call after that tries it again. */
  openMs: number;
  /** A monotonic clock in ms; tests inject one. */
  now?: () => number;
}

/**
 * Skips a failing store for a moment. Behind a timeout, an outage costs every
 * cache miss the whole STORE_TIMEOUT_MS and keeps piling calls onto a store
 * that is already in trouble; after `failures` consecutive failures this
 * answers StoreUnavailableError at once for `openMs`. Nothing latches: once
 * the window has passed, calls reach the store again, and one success resets
 * the count. `ping` always reaches the store, so /readyz reports the store
 * itself, and a successful ping closes the circuit early.
 *
 * Only StoreUnavailableError counts: a domain error (bad input) says nothing
 * about the store's health.
 */
export function createCircuitBreakerStore(inner: ProfileStore, options: CircuitBreakerOptions): ProfileStore {
  const now = options.now ?? (() => performance.now());
  let consecutive = 0;
  let openUntil = -Infinity;

  function succeeded(): void {
    consecutive = 0;
    openUntil = -Infinity;
  }

  function failed(error: unknown): void {
    if (!(error instanceof StoreUnavailableError)) return;
    consecutive++;
    if (consecutive >= options.failures) openUntil = now() + options.openMs;
  }

  /** Runs a call and counts its outcome; `ping` always gets here, every other method only while the circuit is closed. */
  async function counted<T>(call: () => Promise<T>): Promise<T> {
    try {
      const result = await call();
      succeeded();
      return result;
    } catch (error) {
      failed(error);
      throw error;
    }
  }

  function guarded<R>(operation: ProfileStoreMethod, call: () => Promise<R>): Promise<R> {
    if (operation !== 'ping' && now() < openUntil) {
      return Promise.reject(
        new StoreUnavailableError(`the ${inner.kind} profile store is skipped for ${options.openMs} ms after ${consecutive} failures in a row (${operation})`),
      );
    }
    return counted(call);
  }

  return wrapStore(inner, PROFILE_STORE_METHODS, guarded, { exempt: ['sweepExpired', 'close'] });
}
