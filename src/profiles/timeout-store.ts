import { InvalidInputError, NotFoundError, ProfileDataError, StoreUnavailableError } from '../domain/errors.js';
import type { ProfileStore } from './store.js';

export interface TimeoutStoreOptions {
  /** How long a call may take before it is answered with StoreUnavailableError. */
  timeoutMs: number;
}

/**
 * A ProfileStore that gives up on slow calls: a call that has not settled
 * within `timeoutMs` rejects with StoreUnavailableError, which the HTTP layer
 * turns into a degraded decision (reads) or a 503 with Retry-After (writes).
 * Any other failure of the inner store, except a domain error about the input
 * or a ProfileDataError, becomes StoreUnavailableError too, so callers handle one kind of outage.
 *
 * Giving up does not cancel: the inner call may still complete. For a write
 * that is acceptable: the client got a 503 and retries, touchpoint ids make a
 * retried append idempotent, and a merge patch or a delete applied twice ends
 * in the same state.
 *
 * `sweepExpired` and `close` are not timed: the sweep is background upkeep
 * whose length grows with the data, and shutdown must wait for the store.
 */
export function createTimeoutStore(inner: ProfileStore, options: TimeoutStoreOptions): ProfileStore {
  const { timeoutMs } = options;

  function timed<T>(operation: string, call: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new StoreUnavailableError(`the ${inner.kind} profile store did not answer ${operation} within ${timeoutMs} ms`));
      }, timeoutMs);
      // A synchronous throw from the inner store becomes a rejection like any other.
      new Promise<T>((innerResolve) => innerResolve(call())).then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(asUnavailable(error, inner.kind, operation));
        },
      );
    });
  }

  return {
    kind: inner.kind,
    get: (customerId) => timed('get', () => inner.get(customerId)),
    getMany: (customerIds) => timed('getMany', () => inner.getMany(customerIds)),
    getForDecision: (customerId) => timed('getForDecision', () => inner.getForDecision(customerId)),
    getManyForDecision: (customerIds) => timed('getManyForDecision', () => inner.getManyForDecision(customerIds)),
    appendTouchpoints: (customerId, touchpoints, now) => timed('appendTouchpoints', () => inner.appendTouchpoints(customerId, touchpoints, now)),
    patch: (customerId, change, now) => timed('patch', () => inner.patch(customerId, change, now)),
    delete: (customerId) => timed('delete', () => inner.delete(customerId)),
    sweepExpired: (now) => inner.sweepExpired(now),
    ping: () => timed('ping', () => inner.ping()),
    close: () => inner.close(),
  };
}

function asUnavailable(error: unknown, kind: string, operation: string): unknown {
  // A ProfileDataError is about one customer's data, not the store's health: it must reach the circuit breaker as it is.
  if (error instanceof StoreUnavailableError || error instanceof InvalidInputError || error instanceof NotFoundError || error instanceof ProfileDataError) {
    return error;
  }
  const reason = error instanceof Error ? error.message : String(error);
  return new StoreUnavailableError(`the ${kind} profile store failed ${operation}: ${reason}`, { cause: error });
}
