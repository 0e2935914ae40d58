import type { OutcomeKind } from './outcome.js';

/**
 * Everyone's outcomes per item, for caps with `scope: "all"` (contract
 * section 8). A decision is given one (DecideOptions.outcomeTotals) and asks
 * it synchronously: a store-backed implementation keeps the totals in memory
 * and refreshes them in the background (at most 5 seconds behind), so a
 * decision never waits on a store for them.
 */
export interface OutcomeTotals {
  /**
   * How many outcomes of `kind` for `item`, in any placement and of any
   * customer, have an `at` within the last `withinDays` days before `now`
   * (`at >= now - withinDays days`); every one ever when `withinDays` is null.
   */
  count(item: string, kind: OutcomeKind, withinDays: number | null, now: number): number;
}
