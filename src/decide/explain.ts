/**
 * Explained decisions: the same arbitration, with every rule's conditions
 * evaluated by the tracing evaluator and every item's fate recorded. Only
 * requests with `explain: true` come here; the normal path pays nothing for it.
 */
import type { PlacementDecision } from '../domain/decision.js';
import type { CapTrace, ItemTrace, RuleTrace } from '../domain/trace.js';
import type { DecisionFacts } from '../conditions/decision-facts.js';
import { traceCondition } from '../conditions/trace.js';
import { isActive, type Placement, type RulesetSnapshot } from '../ruleset/snapshot.js';
import { arbitrate } from './arbitrate.js';
import type { CapCheck, CapHit } from './caps.js';
import { explainOptimized, type OptimizeInput } from './optimize.js';

export function explainPlacement(
  snapshot: RulesetSnapshot,
  placement: Placement,
  facts: DecisionFacts,
  now: number,
  channel: string | undefined,
  capCheck?: CapCheck,
  optimize?: OptimizeInput,
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
  const input = { placement, catalog: snapshot.catalog, matches: (name: string) => matched.has(name), now, channel, capCheck };
  const recordItem = (rule: string | null, trace: ItemTrace): void => {
    const list = itemsByRule.get(rule) ?? [];
    list.push(trace);
    itemsByRule.set(rule, list);
  };
  const decision = optimize
    ? explainOptimized(input, optimize, (rule, id, outcome, { cap, score }) =>
        recordItem(rule, { id, outcome, ...(cap ? capTrace(cap) : {}), ...(score !== undefined ? { score } : {}) }),
      )
    : arbitrate(input, (rule, id, outcome, hit) => recordItem(rule, hit ? { id, outcome, ...capTrace(hit) } : { id, outcome }));
  for (const rule of rules) {
    if (rule.outcome === 'matched') rule.items = itemsByRule.get(rule.name) ?? [];
  }
  return { ...decision, trace: rules, ...(decision.fallback ? { fallbackTrace: itemsByRule.get(null) ?? [] } : {}) };
}

function capTrace({ cap, count }: CapHit): { cap: CapTrace; count: number } {
  const { kind, max, withinDays, scope } = cap;
  return { cap: withinDays === null ? { kind, max, scope } : { kind, max, withinDays, scope }, count };
}
