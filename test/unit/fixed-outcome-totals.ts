/**
 * OutcomeTotals over a fixed list of everyone's outcomes, for tests that give
 * caps with scope "all" something to count (decide's own input, as a store
 * would provide it, but exact and at once).
 */
import type { OutcomeKind } from '../../src/domain/outcome.js';
import type { OutcomeTotals } from '../../src/domain/outcome-totals.js';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface EveryonesOutcome {
  item: string;
  kind: OutcomeKind;
  at: number;
}

export function fixedOutcomeTotals(outcomes: readonly EveryonesOutcome[]): OutcomeTotals & { asked: number } {
  const totals = {
    asked: 0,
    count(item: string, kind: OutcomeKind, withinDays: number | null, now: number): number {
      totals.asked++;
      const since = withinDays === null ? -Infinity : now - withinDays * DAY_MS;
      return outcomes.filter((o) => o.item === item && o.kind === kind && o.at >= since).length;
    },
  };
  return totals;
}
