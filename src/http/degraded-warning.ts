import type { Logger } from '../logger.js';
import type { StoreUnavailableError } from '../domain/errors.js';

/** Says that `customers` were decided as new visitors because the profile store failed with `err`. */
export type DegradedWarner = (err: StoreUnavailableError, customers: number) => void;

const DEGRADED_WARN_INTERVAL_MS = 10_000;

/**
 * Logs degraded decisions at most once per interval, with how many customers
 * were decided blind since the last line: an outage under load must not flood
 * the log. One per app, shared by every route that decides. Nothing is
 * latched: every request still tries the store (or the cache) first, so the
 * service recovers by itself.
 */
export function degradedWarner(logger: Logger): DegradedWarner {
  let lastAt = -Infinity;
  let suppressed = 0;
  return (err, customers) => {
    suppressed += customers;
    const now = performance.now();
    if (now - lastAt < DEGRADED_WARN_INTERVAL_MS) return;
    lastAt = now;
    logger.warn('profile store unavailable; deciding as for new visitors', { error: err.message, customers: suppressed });
    suppressed = 0;
  };
}
