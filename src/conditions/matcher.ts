import type { BooleanCondition } from '../domain/rule-files.js';
import type { BucketParams, TouchpointCountParams, TouchpointFilterParams } from './fact-catalog.js';

/** The fact values of one decision, computed from the profile and request (decision-facts.ts). */
export interface FactSource {
  readonly customerId: string;
  readonly attributes: unknown;
  readonly context: unknown;
  readonly touchpointTypes: readonly string[];
  readonly channels: readonly string[];
  /** Unset while the stage itself is being inferred. */
  readonly stage: string | undefined;
  readonly stageIndex: number | undefined;
  touchpointCount(params: TouchpointCountParams): number;
  daysSinceLastTouchpoint(params: TouchpointFilterParams): number | null;
  bucket(params: BucketParams): number;
}

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
