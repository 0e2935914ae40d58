/**
 * Caps on catalog items (contract section 8): an item is capped once the
 * outcomes of a cap's kind for it, in any placement, within the last
 * withinDays (ever without), have reached the cap's max: this customer's
 * (from the profile, through the outcomeCount fact) or everyone's (scope
 * "all", from the OutcomeTotals the decision was given).
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
 * A check for one decision, which counts each item at most once however many
 * placements or rules offer it. Made only for decisions whose placements list
 * capped items, and asked only for items that would otherwise be served.
 */
export function createCapCheck(facts: FactSource, totals: OutcomeTotals | undefined, now: number): CapCheck {
  const known = new Map<CatalogItem, CapHit | null>();
  return (item) => {
    let hit = known.get(item);
    if (hit === undefined) {
      hit = firstReached(item, facts, totals, now);
      known.set(item, hit);
    }
    return hit;
  };
}

function firstReached(item: CatalogItem, facts: FactSource, totals: OutcomeTotals | undefined, now: number): CapHit | null {
  for (const cap of item.caps ?? []) {
    const count =
      cap.scope === 'customer' ? facts.outcomeCount(cap.customerCount) : (totals?.count(item.id, cap.kind, cap.withinDays, now) ?? 0);
    if (count >= cap.max) return { cap, count };
  }
  return null;
}
