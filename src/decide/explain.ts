/**
 * Explained decisions: the same arbitration, with every rule's conditions
 * evaluated by the tracing evaluator and every item's fate recorded. Only
 * requests with `explain: true` come here; the normal path pays nothing for it.
 */
import type { PlacementDecision } from '../domain/decision.js';
import type { ItemTrace, RuleTrace } from '../domain/trace.js';
import type { DecisionFacts } from '../conditions/decision-facts.js';
import { traceCondition } from '../conditions/trace.js';
import { isActive, type Placement, type RulesetSnapshot } from '../ruleset/snapshot.js';
import { arbitrate } from './arbitrate.js';

export function explainPlacement(
  snapshot: RulesetSnapshot,
  placement: Placement,
  facts: DecisionFacts,
  now: number,
  channel: string | undefined,
): PlacementDecision {
  const rules: RuleTrace[] = placement.rules.map((rule) => {
    const base = { name: rule.name, priority: rule.priority };
    if (!rule.enabled) return { ...base, outcome: 'disabled' };
    if (!isActive(rule, now)) {
      return {
        ...base,
        outcome: 'inactive',
        ...(rule.activeFrom !== null ? { activeFrom: new Date(rule.activeFrom).toISOString() } : {}),
        ...(rule.activeUntil !== null ? { activeUntil: new Date(rule.activeUntil).toISOString() } : {}),
      };
    }
    const conditions = traceCondition(rule.conditions, facts, snapshot.evaluation);
    return { ...base, outcome: conditions.result ? 'matched' : 'not-matched', conditions };
  });

  const matched = new Set(rules.filter((r) => r.outcome === 'matched').map((r) => r.name));
  const itemsByRule = new Map<string | null, ItemTrace[]>();
  const decision = arbitrate({ placement, catalog: snapshot.catalog, matches: (name) => matched.has(name), now, channel }, (rule, id, outcome) => {
    const list = itemsByRule.get(rule) ?? [];
    list.push({ id, outcome });
    itemsByRule.set(rule, list);
  });
  for (const rule of rules) {
    if (rule.outcome === 'matched') rule.items = itemsByRule.get(rule.name) ?? [];
  }
  return { ...decision, trace: rules, ...(decision.fallback ? { fallbackTrace: itemsByRule.get(null) ?? [] } : {}) };
}
