/**
 * Caps on catalog items (contract section 8): an item is capped once the
 * outcomes of a cap's kind for it, in any placement, within the last
 * withinDays (ever without), have reached the cap's max: this customer's
 * (from the profile's outcomes) or everyone's (scope "all", from the
 * OutcomeTotals the decision was given).
 */
import type { OutcomeTotals } from '../domain/outcome-totals.js';
import type { FactSource } from '../conditions/fact-source.js';
import type { CatalogItem, ItemCap } from '../ruleset/snapshot.js';

/** The cap that stopped an item, and the count that reached its max. */
export interface CapHit {
  cap: ItemCap;
  count: number;
}

/** The first of an item's caps that is reached, or null; asked only for items with caps. */
export type CapCheck = (item: CatalogItem) => CapHit | null;

/**
 * The check for one decision, which counts each item at most once however
 * many placements or rules offer it: one decision sees one count, even when a
 * refresh of the totals lands between its placements. Made only for decisions
 * whose placements list capped items, and asked only for items that would
 * otherwise be served: a few a decision, so what was counted is kept in two
 * short arrays searched in order, cheaper than a Map made per decision.
 */
export function createCapCheck(facts: FactSource, totals: OutcomeTotals | undefined, now: number): CapCheck {
  const items: CatalogItem[] = [];
  const hits: Array<CapHit | null> = [];
  return (item) => {
    for (let i = 0; i < items.length; i++) if (items[i] === item) return hits[i] as CapHit | null;
    const hit = firstReached(item, facts, totals, now);
    items.push(item);
    hits.push(hit);
    return hit;
  };
}

function firstReached(item: CatalogItem, facts: FactSource, totals: OutcomeTotals | undefined, now: number): CapHit | null {
  const caps = item.caps;
  if (caps === null) return null;
  for (let i = 0; i < caps.length; i++) {
    const cap = caps[i] as ItemCap;
    const count =
      cap.scope === 'customer'
        ? facts.itemOutcomeCount(item.id, cap.kind, cap.withinDays)
        : totals === undefined
          ? 0
          : totals.count(item.id, cap.kind, cap.withinDays, now);
    if (count >= cap.max) return { cap, count };
  }
  return null;
}
