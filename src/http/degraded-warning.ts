import type { Logger } from '../observability/logger.js';

/**
 * Why a decision was made as for a new visitor: the store is unavailable, or
 * it answered but the customer's stored data could not be read. Sent in the
 * `X-Nextbest-Degraded` header; the decision's JSON says `degraded: true`.
 */
export type DegradedReason = 'store-unavailable' | 'profile-unreadable';

/** Says that `customers` were decided as new visitors because their profiles could not be read (`reason`, `err`). */
export type DegradedWarner = (err: Error, reason: DegradedReason, customers: number) => void;

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
  return (err, reason, customers) => {
    suppressed += customers;
    const now = performance.now();
    if (now - lastAt < DEGRADED_WARN_INTERVAL_MS) return;
    lastAt = now;
    const why = reason === 'store-unavailable' ? 'profile store unavailable' : 'stored profile data could not be read';
    logger.warn(`${why}; deciding as for new visitors`, { error: err.message, reason, customers: suppressed });
    suppressed = 0;
  };
}
