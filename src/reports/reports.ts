/**
 * What the service keeps for reports and optimize, put together once: the
 * store, the in-process served counter in front of it, and the goal
 * statistics read back from it.
 */
import type { RulesetSnapshot } from '../ruleset/snapshot.js';
import { createGoalStatsCache, type GoalStatsCache } from './goal-stats.js';
import type { ReportStore } from './report-store.js';
import { createServedCounter, type ServedCounter } from './served-counter.js';

export interface Reports {
  store: ReportStore;
  served: ServedCounter;
  goalStats: GoalStatsCache;
}

export interface ReportsOptions {
  store: ReportStore;
  rules: () => RulesetSnapshot | null;
  now?: () => number;
  /** Told when a served-count flush fails (the counts are kept for the next). */
  onFlushError?: (error: unknown) => void;
}

export function createReports(options: ReportsOptions): Reports {
  return {
    store: options.store,
    served: createServedCounter({ store: options.store, ...(options.onFlushError ? { onError: options.onFlushError } : {}) }),
    goalStats: createGoalStatsCache({ store: options.store, rules: options.rules, ...(options.now ? { now: options.now } : {}) }),
  };
}
