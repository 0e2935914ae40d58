import { StoreUnavailableError } from '../domain/errors.js';
import type { ProfileStore } from './store.js';

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

  async function guarded<T>(operation: string, call: () => Promise<T>): Promise<T> {
    if (now() < openUntil) {
      throw new StoreUnavailableError(`the ${inner.kind} profile store is skipped for ${options.openMs} ms after ${consecutive} failures in a row (${operation})`);
    }
    try {
      const result = await call();
      succeeded();
      return result;
    } catch (error) {
      failed(error);
      throw error;
    }
  }

  return {
    kind: inner.kind,
    get: (customerId) => guarded('get', () => inner.get(customerId)),
    getMany: (customerIds) => guarded('getMany', () => inner.getMany(customerIds)),
    getForDecision: (customerId) => guarded('getForDecision', () => inner.getForDecision(customerId)),
    getManyForDecision: (customerIds) => guarded('getManyForDecision', () => inner.getManyForDecision(customerIds)),
    appendTouchpoints: (customerId, touchpoints, now) => guarded('appendTouchpoints', () => inner.appendTouchpoints(customerId, touchpoints, now)),
    patch: (customerId, change, now) => guarded('patch', () => inner.patch(customerId, change, now)),
    delete: (customerId) => guarded('delete', () => inner.delete(customerId)),
    sweepExpired: (now) => inner.sweepExpired(now),
    async ping() {
      try {
        await inner.ping();
      } catch (error) {
        failed(error);
        throw error;
      }
      succeeded();
    },
    close: () => inner.close(),
  };
}
