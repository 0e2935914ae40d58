import type { PlacementDecision, ServedItem } from '../domain/decision.js';
import type { ItemOutcome } from '../domain/trace.js';
import { isActive, type CatalogItem, type DecisionRule, type Placement } from '../ruleset/snapshot.js';
import type { CapCheck, CapHit } from './caps.js';

export interface ArbitrationInput {
  placement: Placement;
  catalog: ReadonlyMap<string, CatalogItem>;
  /** Whether a rule's conditions hold; asked only for rules that could still serve. */
  matches: (ruleName: string) => boolean;
  /** The rules to consider, highest priority first (default: all of the placement's). */
  rules?: readonly DecisionRule[];
  now: number;
  /** context.channel when the request gives one. */
  channel: string | undefined;
  /** Whether an item with caps is capped; absent when no item the placement lists has caps. */
  capCheck?: CapCheck | undefined;
  /** How many items to serve (default: the placement's maxItems); optimize asks for every eligible one. */
  limit?: number;
}

/** Told what became of each item considered; `rule` is null for fallback items; `cap` the cap that stopped a capped item. */
export type ItemRecorder = (rule: string | null, id: string, outcome: ItemOutcome, cap?: CapHit) => void;

/**
 * Contract section 4: matching rules that are enabled and active, by priority
 * (ties in file order); their items in listed order, skipping duplicates,
 * inactive items, items not on the request's channel and capped items
 * (section 8); the first maxItems. With none left, the fallback items under
 * the same filters.
 *
 * With a recorder (explain), every item of every matching rule is considered
 * and its outcome recorded; without one, work stops once the placement is full.
 */
export function arbitrate(input: ArbitrationInput, record?: ItemRecorder): PlacementDecision {
  const { placement, matches, now } = input;
  const items: ServedItem[] = [];
  const taken = new Set<string>();
  const limit = input.limit ?? placement.maxItems;
  const full = (): boolean => items.length >= limit;

  const consider = (id: string, rule: string | null): void => {
    // The item's own reason comes first: an expired item in a full placement is "inactive", not a
    // reason to raise maxItems. Only an item that would have been served is turned away for room.
    let own = itemOutcome(input, taken, id);
    let hit: CapHit | null = null;
    // Last of the item's own reasons, and only for an item that would otherwise be served: counting costs the most.
    if (own === 'served' && input.capCheck) {
      const item = input.catalog.get(id) as CatalogItem;
      if (item.caps !== null) {
        hit = input.capCheck(item);
        if (hit) own = 'capped';
      }
    }
    const outcome = own === 'served' && full() ? 'over-max-items' : own;
    if (outcome === 'served') {
      taken.add(id);
      items.push(serve(input.catalog.get(id) as CatalogItem, rule));
    }
    record?.(rule, id, outcome, hit ?? undefined);
  };

  for (const rule of input.rules ?? placement.rules) {
    if (!record && full()) break;
    if (!rule.enabled || !isActive(rule, now) || !matches(rule.name)) continue;
    for (const id of rule.items) {
      if (!record && full()) break;
      consider(id, rule.name);
    }
  }
  if (items.length > 0) return { items, fallback: false };

  for (const id of placement.fallback) {
    if (!record && full()) break;
    consider(id, null);
  }
  return { items, fallback: true };
}

function itemOutcome(input: ArbitrationInput, taken: ReadonlySet<string>, id: string): ItemOutcome {
  if (taken.has(id)) return 'duplicate';
  const item = input.catalog.get(id);
  // Validation guarantees every listed id is in the catalog; a missing one is treated as never active.
  if (!item || !isActive(item, input.now)) return 'inactive';
  if (input.channel !== undefined && item.channels !== null && !item.channels.has(input.channel)) return 'channel';
  return 'served';
}

/**
 * Served items, one per catalog item and rule, made on first use and shared by
 * every decision after: copying an item's fields was about a microsecond an
 * item (each catalog entry has its own shape), and a shared item lets the HTTP
 * layer keep its JSON too (src/http/decision-json.ts). They are frozen, so no
 * decision can change another's; their nested values were already shared with
 * the catalog before. Keyed by the snapshot's own catalog objects, they go
 * with the snapshot.
 */
const servedItems = new WeakMap<CatalogItem, Map<string | null, ServedItem>>();

function serve(item: CatalogItem, rule: string | null): ServedItem {
  let byRule = servedItems.get(item);
  if (!byRule) {
    byRule = new Map();
    servedItems.set(item, byRule);
  }
  let served = byRule.get(rule);
  if (!served) {
    served = Object.freeze({ ...item.fields, id: item.id, kind: item.kind, rule });
    byRule.set(rule, served);
  }
  return served;
}
