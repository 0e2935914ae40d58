/**
 * Running one generated world through every evaluator: json-rules-engine (the
 * reference), the compiled matcher and the tracing evaluator used by explain.
 *
 * Two references. `createJreMatcher` is json-rules-engine configured with
 * nextbest's path resolver and operators: it checks the evaluators against the
 * engine's condition semantics. `shippedVerdict` is json-rules-engine as
 * shipped (its default jsonpath-plus path resolver, its default operators and
 * decorators): it checks that nextbest's own paths and operators read and
 * compare as the engine does out of the box.
 */
import { Engine, type RuleProperties, type TopLevelCondition } from 'json-rules-engine';
import { createFacts, type DecisionFacts } from '../../../src/conditions/decision-facts.js';
import type { Decision } from '../../../src/domain/decision.js';
import type { BooleanCondition, Condition } from '../../../src/domain/rule-files.js';
import { buildRuleset } from '../../../src/ruleset/build.js';
import type { RuleSource } from '../../../src/ruleset/layout.js';
import { createOperatorResolver, createOperators } from '../../../src/conditions/operators.js';
import type { FactSource } from '../../../src/conditions/fact-source.js';
import { runtimeFacts } from '../../../src/conditions/jre-matcher.js';
import type { TraceEnvironment } from '../../../src/conditions/trace.js';
import type { MatchableRule, MatcherEnvironment, MatcherFactory } from '../../../src/conditions/matcher.js';
import type { RulesetSnapshot } from '../../../src/ruleset/snapshot.js';
import { NOW, type FactsInput, type GeneratedSegment } from './arbitraries.js';

export function stageIndexOf(stages: readonly string[]): Map<string, number> {
  return new Map(stages.map((stage, i) => [stage, i]));
}

export function environment(stages: readonly string[], segments: readonly GeneratedSegment[]): TraceEnvironment {
  const stageIndex = stageIndexOf(stages);
  return {
    segments: new Map(segments.map((s) => [s.name, s.condition])),
    stageIndex,
    operator: createOperatorResolver(stageIndex),
  };
}

/** Fresh facts (an empty memo) for one evaluator; the stage set as src/decide/stage.ts sets it. */
export function factsOf(input: FactsInput, stageIndex: ReadonlyMap<string, number>): DecisionFacts {
  const facts = createFacts({ customerId: input.customerId, profile: input.profile, context: input.context, now: NOW });
  if (input.stage !== undefined) {
    facts.stage = input.stage;
    facts.stageIndex = stageIndex.get(input.stage);
  }
  return facts;
}

/** Every condition in a tree, the root first (segment references are leaves here). */
export function conditionNodes(condition: Condition, out: Condition[] = []): Condition[] {
  out.push(condition);
  if ('all' in condition) for (const child of condition.all) conditionNodes(child, out);
  else if ('any' in condition) for (const child of condition.any) conditionNodes(child, out);
  else if ('not' in condition) conditionNodes(condition.not, out);
  return out;
}

/** A rule whose conditions are exactly this condition (json-rules-engine wants a boolean root). */
export function asRoot(condition: Condition): BooleanCondition {
  return 'all' in condition || 'any' in condition || 'not' in condition || 'condition' in condition ? condition : { all: [condition] };
}

export function asRules(conditions: readonly Condition[]): MatchableRule[] {
  return conditions.map((condition, i) => ({ name: `n${i}`, priority: 1, conditions: asRoot(condition) }));
}

export function sorted(names: Iterable<string>): string[] {
  return [...names].sort();
}

export function buildOrThrow(files: readonly RuleSource[], createMatcher: MatcherFactory): RulesetSnapshot {
  const { snapshot, errors } = buildRuleset(files, { now: NOW, createMatcher });
  if (!snapshot) throw new Error(`generated rules do not build:\n${JSON.stringify(errors, null, 1)}`);
  return snapshot;
}

/** A decision without its id, for comparing two evaluators' decisions. */
export function withoutId(decision: Decision): Omit<Decision, 'decisionId'> {
  const { decisionId: _id, ...rest } = decision;
  return rest;
}

/** What a decision serves: stage, and each placement's items (with rule attribution) and fallback. */
export function served(decision: Decision): unknown {
  return {
    stage: decision.stage,
    stageSource: decision.stageSource,
    placements: Object.fromEntries(
      Object.entries(decision.placements).map(([name, p]) => [name, { items: p.items, fallback: p.fallback }]),
    ),
  };
}

/** The operators json-rules-engine does not have; everything else is the engine's own. */
const NEXTBEST_ONLY_OPERATORS = new Set(['stageAtLeast', 'stageAtMost']);

/**
 * json-rules-engine as shipped: no pathResolver given (so jsonpath-plus), the
 * default operators and decorators, plus only nextbest's two stage operators.
 */
export function buildShippedEngine(rules: readonly MatchableRule[], env: MatcherEnvironment): Engine {
  const engine = new Engine([], { allowUndefinedFacts: false, allowUndefinedConditions: false, replaceFactsInEventParams: false });
  for (const op of createOperators(env.stageIndex)) {
    if (NEXTBEST_ONLY_OPERATORS.has(op.name)) engine.addOperator(op.name, (a: unknown, b: unknown) => op.validator(a) && op.evaluate(a, b));
  }
  for (const [name, condition] of env.segments) engine.setCondition(name, condition as TopLevelCondition);
  for (const rule of rules) {
    engine.addRule({ name: rule.name, priority: rule.priority, conditions: rule.conditions as TopLevelCondition, event: { type: 'match' } } as RuleProperties);
  }
  return engine;
}

/** What json-rules-engine as shipped says of one rule: it holds, it does not, or the run throws. */
export type ShippedVerdict = boolean | 'throws';

/**
 * Each rule's verdict on json-rules-engine as shipped. One run for all the
 * rules; when it throws (a single throwing condition fails the whole run),
 * each rule runs alone, so a throw is pinned on the rules that cause it.
 */
export async function shippedVerdicts(
  rules: readonly MatchableRule[],
  env: MatcherEnvironment,
  facts: () => FactSource,
): Promise<Map<string, ShippedVerdict>> {
  const verdicts = new Map<string, ShippedVerdict>();
  const run = async (subset: readonly MatchableRule[]): Promise<Set<string>> => {
    const { results } = await buildShippedEngine(subset, env).run(runtimeFacts(facts()));
    return new Set(results.map((r) => String(r.name)));
  };
  try {
    const matched = await run(rules);
    for (const rule of rules) verdicts.set(rule.name, matched.has(rule.name));
  } catch {
    for (const rule of rules) {
      try {
        verdicts.set(rule.name, (await run([rule])).has(rule.name));
      } catch {
        verdicts.set(rule.name, 'throws');
      }
    }
  }
  return verdicts;
}
