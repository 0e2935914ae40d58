/**
 * The goal statistics optimized placements rank by (contract section 10):
 * each item's goal events and impressions in its placement over the last 30
 * days, all customers, read from the ReportStore, which every replica shares,
 * and held in memory for decisions. A refresh replaces the whole snapshot at
 * once; the background refresh runs at most every 10 s, so what a decision
 * sees is at most that old (plus the store's own lag for outcomes: none).
 */
import type { GoalCounts } from '../domain/report.js';
import { GOAL_WINDOW_DAYS } from '../domain/report.js';
import type { RulesetSnapshot } from '../ruleset/snapshot.js';
import { addDays, dayOf, type ReportStore } from './report-store.js';

export const GOAL_STATS_REFRESH_MS = 10_000;

export interface GoalStatsCache {
  /** The statistics of a placement's items, by item id; undefined before the first refresh or for a placement without optimize. */
  get(placement: string): ReadonlyMap<string, GoalCounts> | undefined;
  /** Reads the statistics of every optimized placement of the current rules. */
  refresh(): Promise<void>;
}

export interface GoalStatsCacheOptions {
  store: ReportStore;
  /** The rules serving now: their optimized placements are the ones read. */
  rules: () => RulesetSnapshot | null;
  now?: () => number;
}

export function createGoalStatsCache(options: GoalStatsCacheOptions): GoalStatsCache {
  const clock = options.now ?? Date.now;
  let snapshot = new Map<string, ReadonlyMap<string, GoalCounts>>();
  return {
    get: (placement) => snapshot.get(placement),
    async refresh() {
      const rules = options.rules();
      if (!rules) return;
      const since = addDays(dayOf(clock()), -(GOAL_WINDOW_DAYS - 1));
      const next = new Map<string, ReadonlyMap<string, GoalCounts>>();
      await Promise.all(
        [...rules.placements.values()].map(async (placement) => {
          if (placement.optimize === null) return;
          next.set(placement.name, await options.store.goalStats(placement.name, placement.optimize.goal, since));
        }),
      );
      snapshot = next;
    },
  };
}
