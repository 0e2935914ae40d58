/**
 * The compile step: checked rules to the immutable snapshot decisions read:
 * each placement's matcher and its rules by stage (the stage index), the
 * stage rules' matcher, and a version from the files' content.
 */
import { createHash } from 'node:crypto';
import type { RuleError } from '../domain/rule-files.js';
import type { MatcherEnvironment, MatcherFactory } from '../conditions/matcher.js';
import { createOperatorResolver } from '../conditions/operators.js';
import type { CheckedBase, CheckedRuleset, PlacementDraft } from './check.js';
import type { RuleSource } from './layout.js';
import type { DecisionRule, Placement, RulesetSnapshot } from './snapshot.js';
import { possibleStages } from './stage-index.js';

export interface CompileOptions {
  /** The rules version (rulesVersion of the rule files). */
  version: string;
  now: number;
  createMatcher: MatcherFactory;
  /** The warnings of this load, kept with the rules they are about. */
  warnings: readonly RuleError[];
}

export function compileRuleset(checked: CheckedRuleset, options: CompileOptions): RulesetSnapshot {
  const steps = compileSteps({ base: () => checked, placements: checked.placements.map((draft) => () => draft) }, options);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * Checked rules in parts, each taken only when its turn comes: the reload
 * worker hands each placement over serialized, so that even reading it back
 * happens within a slice of its own.
 */
export interface CheckedParts {
  base(): CheckedBase;
  placements: ReadonlyArray<() => PlacementDraft>;
}

/**
 * compileRuleset in slices, awaiting `pause` between them: conditions compile
 * to closures, which cannot be built in another thread, so this part of a
 * reload runs on the event loop while requests are served. A slice is one
 * step of compileSteps, bounded by the rules a placement may hold.
 */
export async function compileRulesetInSlices(
  parts: CheckedParts,
  options: CompileOptions & { pause: () => Promise<void> },
): Promise<RulesetSnapshot> {
  const steps = compileSteps(parts, options);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    await options.pause();
  }
}

/**
 * The compile, yielding between steps of bounded work: take the base
 * (catalog, segments, stages) and compile the stage rules; then for each
 * placement, take it and index its rules by stage, and compile its matcher.
 * Taking a placement (reading it back from the worker) and compiling it cost
 * about the same, so they are separate steps.
 */
function* compileSteps(parts: CheckedParts, options: CompileOptions): Generator<void, RulesetSnapshot> {
  const { createMatcher } = options;
  const base = parts.base();
  const { stages, stageIndex, segments } = base;
  const env: MatcherEnvironment = { segments, stageIndex };
  // Served items are handed out as they are: nothing may change them.
  for (const item of base.catalog.values()) Object.freeze(item.fields);
  yield;
  const stageMatcher = createMatcher(base.stageRules, env);
  const placements = new Map<string, Placement>();
  for (const take of parts.placements) {
    yield;
    const draft = take();
    const enabled = draft.rules.filter((r) => r.enabled);
    const rulesByStage = new Map(stages.map((stage) => [stage, [] as DecisionRule[]]));
    for (const rule of enabled) {
      const allowed = possibleStages(rule.conditions, segments, stages);
      for (const [stage, list] of rulesByStage) if (!allowed || allowed.has(stage)) list.push(rule);
    }
    // Decided here, once: a decision for a placement without capped items counts nothing.
    const capped = [...draft.rules.flatMap((rule) => rule.items), ...draft.fallback].some((id) => base.catalog.get(id)?.caps);
    yield;
    placements.set(draft.name, { ...draft, rulesByStage, matcher: createMatcher(enabled, env), capped });
  }
  return {
    version: options.version,
    loadedAt: new Date(options.now).toISOString(),
    stages,
    stageIndex,
    stageRules: base.stageRules,
    stageMatcher,
    catalog: base.catalog,
    segments,
    placements,
    warnings: options.warnings,
    evaluation: { ...env, operator: createOperatorResolver(stageIndex) },
  };
}

/** A content hash of the rule files, so equal rules give an equal version on every replica. */
export function rulesVersion(sources: readonly RuleSource[]): string {
  const hash = createHash('sha256');
  for (const source of [...sources].sort((a, b) => (a.file < b.file ? -1 : 1))) {
    hash.update(source.file).update('\0').update(source.text).update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}
