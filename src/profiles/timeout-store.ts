import { InvalidInputError, NotFoundError, ProfileDataError, StoreUnavailableError } from '../domain/errors.js';
import { PROFILE_STORE_METHODS, type ProfileStore, type ProfileStoreMethod } from './store.js';
import { wrapStore } from './wrap-store.js';

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

  function timed<R>(operation: ProfileStoreMethod, call: () => Promise<R>): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new StoreUnavailableError(`the ${inner.kind} profile store did not answer ${operation} within ${timeoutMs} ms`));
      }, timeoutMs);
      // A synchronous throw from the inner store becomes a rejection like any other.
      new Promise<R>((innerResolve) => innerResolve(call())).then(
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

  return wrapStore(inner, PROFILE_STORE_METHODS, timed, { exempt: ['sweepExpired', 'close'] });
}

function asUnavailable(error: unknown, kind: string, operation: string): unknown {
  // A ProfileDataError is about one customer's data, not the store's health: it must reach the circuit breaker as it is.
  if (error instanceof StoreUnavailableError || error instanceof InvalidInputError || error instanceof NotFoundError || error instanceof ProfileDataError) {
    return error;
  }
  const reason = error instanceof Error ? error.message : String(error);
  return new StoreUnavailableError(`the ${kind} profile store failed ${operation}: ${reason}`, { cause: error });
}
