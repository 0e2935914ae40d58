/**
 * Optimized ranking (contract section 10): a placement with `optimize` ranks
 * its eligible items by Thompson sampling instead of priority order. Each
 * item's goal rate is drawn from Beta(1 + goal events, 1 + impressions − goal
 * events), its posterior under a uniform prior, and the items go highest draw
 * first: an item is shown as often as it is likely to be the best, so a
 * proven item wins most decisions while an uncertain one still gets tried.
 * A share `explore` of decisions keeps priority order: the control arm that
 * measures the gain. Eligibility is arbitration's, unchanged (rules that
 * match, are enabled and active; channel; caps).
 */
import type { PlacementDecision, ServedItem } from '../domain/decision.js';
import type { GoalCounts, RankingArm } from '../domain/report.js';
import type { PlacementOptimize } from '../ruleset/snapshot.js';
import { arbitrate, type ArbitrationInput, type ItemRecorder } from './arbitrate.js';
import { sampleBeta, type RandomSource } from './sampling.js';

/** The goal statistics of a placement's items (the last 30 days, every customer), by item id; absent: none yet. */
export type GoalStatsSource = (placement: string) => ReadonlyMap<string, GoalCounts> | undefined;

/** What an optimized decision needs besides arbitration's input. */
export interface OptimizeInput {
  optimize: PlacementOptimize;
  random: RandomSource;
  stats: ReadonlyMap<string, GoalCounts> | undefined;
}

const NO_COUNTS: GoalCounts = { goals: 0, impressions: 0 };

/** One item's sampled goal rate. */
export function sampleScore(counts: GoalCounts | undefined, random: RandomSource): number {
  const { goals, impressions } = counts ?? NO_COUNTS;
  // Clients may report more goal events than impressions; the posterior then treats every impression as a success.
  const successes = Math.min(Math.max(goals, 0), Math.max(impressions, 0));
  return sampleBeta(1 + successes, 1 + Math.max(impressions, 0) - successes, random);
}

/** The arm of one decision: priority with probability `explore`. */
export function chooseArm(optimize: PlacementOptimize, random: RandomSource): RankingArm {
  return random() < optimize.explore ? 'priority' : 'optimized';
}

/** An optimized placement's decision, with its ranking; a fallback is priority order by definition. */
export function decideOptimized(input: ArbitrationInput, options: OptimizeInput): PlacementDecision {
  if (chooseArm(options.optimize, options.random) === 'priority') return { ...arbitrate(input), ranking: 'priority' };
  const eligible = arbitrate({ ...input, limit: Number.POSITIVE_INFINITY });
  const { maxItems } = input.placement;
  if (eligible.fallback) return { items: eligible.items.slice(0, maxItems), fallback: true, ranking: 'priority' };
  const ranked = rankItems(eligible.items, options.stats, options.random);
  return { items: ranked.slice(0, maxItems).map((r) => r.item), fallback: false, ranking: 'optimized' };
}

interface RankedItem {
  item: ServedItem;
  score: number;
}

/** Items by sampled score, highest first; equal scores keep priority order. */
export function rankItems(items: readonly ServedItem[], stats: ReadonlyMap<string, GoalCounts> | undefined, random: RandomSource): RankedItem[] {
  const ranked = items.map((item) => ({ item, score: sampleScore(stats?.get(item.id), random) }));
  // Array.prototype.sort is stable.
  return ranked.sort((a, b) => b.score - a.score);
}

/**
 * The explained form: every eligible item's sampled score, and the outcome
 * of each item as the optimized ranking had it (an eligible item ranked past
 * maxItems is `over-max-items`). The recorder is told once arbitration and
 * ranking are done, so it sees final outcomes.
 */
export function explainOptimized(
  input: ArbitrationInput,
  options: OptimizeInput,
  record: (rule: string | null, id: string, outcome: Parameters<ItemRecorder>[2], extra: { cap?: Parameters<ItemRecorder>[3]; score?: number }) => void,
): PlacementDecision {
  const arm = chooseArm(options.optimize, options.random);
  const considered: Array<{ rule: string | null; id: string; outcome: Parameters<ItemRecorder>[2]; cap: Parameters<ItemRecorder>[3] }> = [];
  const collect: ItemRecorder = (rule, id, outcome, cap) => void considered.push({ rule, id, outcome, cap });
  if (arm === 'priority') {
    const decision = arbitrate(input, collect);
    for (const c of considered) record(c.rule, c.id, c.outcome, { cap: c.cap });
    return { ...decision, ranking: 'priority' };
  }
  const eligible = arbitrate({ ...input, limit: Number.POSITIVE_INFINITY }, collect);
  const { maxItems } = input.placement;
  if (eligible.fallback) {
    // As a priority fallback: the first maxItems served, the rest over-max-items.
    let kept = 0;
    for (const c of considered) {
      const outcome = c.outcome === 'served' && kept++ >= maxItems ? 'over-max-items' : c.outcome;
      record(c.rule, c.id, outcome, { cap: c.cap });
    }
    return { items: eligible.items.slice(0, maxItems), fallback: true, ranking: 'priority' };
  }
  const ranked = rankItems(eligible.items, options.stats, options.random);
  const chosen = new Set(ranked.slice(0, maxItems).map((r) => r.item));
  const scores = new Map(ranked.map((r) => [r.item, r.score]));
  const servedBy = new Map(eligible.items.map((item) => [`${item.rule ?? ''}\n${item.id}`, item]));
  for (const c of considered) {
    const item = c.outcome === 'served' ? servedBy.get(`${c.rule ?? ''}\n${c.id}`) : undefined;
    if (!item) {
      record(c.rule, c.id, c.outcome, { cap: c.cap });
      continue;
    }
    record(c.rule, c.id, chosen.has(item) ? 'served' : 'over-max-items', { score: scores.get(item) as number });
  }
  return { items: ranked.slice(0, maxItems).map((r) => r.item), fallback: false, ranking: 'optimized' };
}
