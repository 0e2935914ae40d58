import type { Json } from '../domain/json.js';
import type { OutcomeKind } from '../domain/outcome.js';
import type { OptimizeGoal } from '../domain/report.js';
import type { BooleanCondition, CapScope, RuleError } from '../domain/rule-files.js';
import type { OutcomeCountParams } from '../conditions/fact-catalog.js';
import type { TraceEnvironment } from '../conditions/trace.js';
import type { RuleMatcher } from '../conditions/matcher.js';

export interface CatalogItem {
  id: string;
  kind: 'content' | 'offer';
  /** null: served on every channel. */
  channels: ReadonlySet<string> | null;
  activeFrom: number | null;
  activeUntil: number | null;
  /** null: no caps (most items), so arbitration has nothing to count for it. */
  caps: readonly ItemCap[] | null;
  /** Every field of the catalog entry, as served. */
  fields: Readonly<Record<string, Json>>;
}

export interface ItemCap {
  kind: OutcomeKind;
  max: number;
  /** null: every outcome ever. */
  withinDays: number | null;
  scope: CapScope;
}

export interface DecisionRule {
  name: string;
  priority: number;
  /** Position in its file; breaks priority ties. */
  order: number;
  enabled: boolean;
  activeFrom: number | null;
  activeUntil: number | null;
  items: readonly string[];
  conditions: BooleanCondition;
}

export interface Placement {
  name: string;
  file: string;
  maxItems: number;
  fallback: readonly string[];
  /** Highest priority first, ties in file order. */
  rules: readonly DecisionRule[];
  /** For each stage, the rules that can match in it (the others pin another stage), in the same order. */
  rulesByStage: ReadonlyMap<string, readonly DecisionRule[]>;
  /** Matches the enabled rules. */
  matcher: RuleMatcher;
  /** Whether any item its rules or fallback list has caps: without, decisions count nothing. */
  capped: boolean;
  /** Ranks eligible items by Thompson sampling on the goal (contract section 10); null: priority order. */
  optimize: PlacementOptimize | null;
}

export interface PlacementOptimize {
  goal: OptimizeGoal;
  /** The share of decisions kept in priority order (the control arm), 0 to 0.5. */
  explore: number;
}

export interface StageRule {
  name: string;
  priority: number;
  order: number;
  stage: string;
  conditions: BooleanCondition;
}

/** One consistent, immutable set of rules; requests read one snapshot from start to end. */
export interface RulesetSnapshot {
  version: string;
  loadedAt: string;
  stages: readonly string[];
  stageIndex: ReadonlyMap<string, number>;
  /** Highest priority first, ties in file order. */
  stageRules: readonly StageRule[];
  stageMatcher: RuleMatcher;
  catalog: ReadonlyMap<string, CatalogItem>;
  segments: ReadonlyMap<string, BooleanCondition>;
  placements: ReadonlyMap<string, Placement>;
  warnings: readonly RuleError[];
  /** Segments and operators for evaluating conditions directly (explain traces). */
  evaluation: TraceEnvironment;
}

/** Whether something with an activity window is active at `now` (from inclusive, until exclusive). */
export function isActive(window: { activeFrom: number | null; activeUntil: number | null }, now: number): boolean {
  return (window.activeFrom === null || now >= window.activeFrom) && (window.activeUntil === null || now < window.activeUntil);
}
