import type { BooleanCondition } from '../domain/rule-files.js';
import type { FactSource } from './fact-source.js';

/*
 * The port between a snapshot and an evaluator: a matcher is built once per
 * snapshot from its rules and segments, then asked per decision which rules hold.
 */

/** A rule as a matcher sees it: a name and the conditions that decide whether it holds. */
export interface MatchableRule {
  name: string;
  priority: number;
  conditions: BooleanCondition;
}

export interface RuleMatcher {
  /** The names of the rules whose conditions hold for these facts. */
  match(facts: FactSource): Promise<ReadonlySet<string>> | ReadonlySet<string>;
  /**
   * Whether one rule's conditions hold, answered synchronously. Evaluators
   * that can (the compiled one) let arbitration stop as soon as a placement is
   * full instead of evaluating every rule.
   */
  holds?(ruleName: string, facts: FactSource): boolean;
}

export interface MatcherEnvironment {
  segments: ReadonlyMap<string, BooleanCondition>;
  stageIndex: ReadonlyMap<string, number>;
}

export type MatcherFactory = (rules: readonly MatchableRule[], env: MatcherEnvironment) => RuleMatcher;
