/** What `explain: true` adds to a decision: why each rule did or did not serve. */

export type ConditionTrace =
  | { all: ConditionTrace[]; result: boolean }
  | { any: ConditionTrace[]; result: boolean }
  | { not: ConditionTrace; result: boolean }
  /** A segment reference, with the segment's own condition traced inside. */
  | { condition: string; result: boolean; conditions: ConditionTrace }
  | FactConditionTrace;

export interface FactConditionTrace {
  fact: string;
  params?: Record<string, unknown>;
  path?: string;
  operator: string;
  /** The value compared with, as written in the rule. */
  value: unknown;
  /** What a fact reference in `value` resolved to. */
  valueResult?: unknown;
  /** The fact's value (after `path`); absent when the fact has none there. */
  factValue?: unknown;
  result: boolean;
}

/**
 * What happened to an item a rule (or the fallback) offered: served, or why not.
 * The item's own reason (`duplicate`, `inactive`, `channel`) comes first;
 * `over-max-items` only for an item that would have been served but the
 * placement was already full.
 */
export type ItemOutcome = 'served' | 'duplicate' | 'inactive' | 'channel' | 'over-max-items';

export interface ItemTrace {
  id: string;
  outcome: ItemOutcome;
}

export type RuleOutcome = 'matched' | 'not-matched' | 'disabled' | 'inactive';

export interface RuleTrace {
  name: string;
  priority: number;
  outcome: RuleOutcome;
  /** The activity window of an inactive rule. */
  activeFrom?: string;
  activeUntil?: string;
  /** Absent for rules skipped without evaluation (disabled, inactive). */
  conditions?: ConditionTrace;
  /** For matched rules: each listed item and what became of it. */
  items?: ItemTrace[];
}

export interface StageRuleTrace {
  name: string;
  priority: number;
  stage: string;
  outcome: 'matched' | 'not-matched';
  conditions: ConditionTrace;
}

export interface StageTrace {
  stage: string;
  source: 'explicit' | 'inferred' | 'default';
  /** The rule that decided an inferred stage. */
  rule: string | null;
  /** Every stage rule, highest priority first; empty when the stage was set explicitly. */
  rules: StageRuleTrace[];
}
