/**
 * Running one generated world through every evaluator: json-rules-engine (the
 * reference), the compiled matcher and the tracing evaluator used by explain.
 */
import { createFacts, type DecisionFacts } from '../../../src/conditions/decision-facts.js';
import type { Decision } from '../../../src/domain/decision.js';
import type { BooleanCondition, Condition } from '../../../src/domain/rule-files.js';
import { buildRuleset } from '../../../src/ruleset/build.js';
import type { RuleSource } from '../../../src/ruleset/layout.js';
import { createOperatorResolver } from '../../../src/conditions/operators.js';
import type { TraceEnvironment } from '../../../src/conditions/trace.js';
import type { MatchableRule, MatcherFactory } from '../../../src/conditions/matcher.js';
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
