import type { PlacementDecision, ServedItem } from '../domain/decision.js';
import { isActive, type CatalogItem, type Placement } from '../ruleset/snapshot.js';

export interface ArbitrationInput {
  placement: Placement;
  catalog: ReadonlyMap<string, CatalogItem>;
  /** Names of the placement's rules whose conditions hold. */
  matched: ReadonlySet<string>;
  now: number;
  /** context.channel when the request gives one. */
  channel: string | undefined;
}

/**
 * Contract section 4: matching rules that are enabled and active, by priority
 * (ties in file order); their items in listed order, skipping duplicates,
 * inactive items and items not on the request's channel; the first maxItems.
 * With none left, the fallback items under the same filters.
 */
export function arbitrate(input: ArbitrationInput): PlacementDecision {
  const { placement, matched, now } = input;
  const items: ServedItem[] = [];
  const taken = new Set<string>();
  const servable = (id: string): CatalogItem | null => {
    if (taken.has(id)) return null;
    const item = input.catalog.get(id);
    if (!item || !isActive(item, now)) return null;
    if (input.channel !== undefined && item.channels !== null && !item.channels.has(input.channel)) return null;
    return item;
  };

  for (const rule of placement.rules) {
    if (items.length >= placement.maxItems) break;
    if (!rule.enabled || !isActive(rule, now) || !matched.has(rule.name)) continue;
    for (const id of rule.items) {
      if (items.length >= placement.maxItems) break;
      const item = servable(id);
      if (!item) continue;
      taken.add(id);
      items.push(serve(item, rule.name));
    }
  }
  if (items.length > 0) return { items, fallback: false };

  for (const id of placement.fallback) {
    if (items.length >= placement.maxItems) break;
    const item = servable(id);
    if (!item) continue;
    taken.add(id);
    items.push(serve(item, null));
  }
  return { items, fallback: true };
}

function serve(item: CatalogItem, rule: string | null): ServedItem {
  return { ...item.fields, id: item.id, kind: item.kind, rule };
}
