/**
 * The compile step: checked rules to the immutable snapshot decisions read:
 * each placement's matcher and its rules by stage (the stage index), the
 * stage rules' matcher, and a version from the files' content.
 */
import { createHash } from 'node:crypto';
import type { RuleError } from '../domain/rule-files.js';
import type { MatcherFactory } from '../conditions/matcher.js';
import { createOperatorResolver } from '../conditions/operators.js';
import type { CheckedRuleset } from './check.js';
import type { RuleSource } from './layout.js';
import type { DecisionRule, Placement, RulesetSnapshot } from './snapshot.js';
import { possibleStages } from './stage-index.js';

export interface CompileOptions {
  /** The rule files the version is computed from. */
  ruleFiles: readonly RuleSource[];
  now: number;
  createMatcher: MatcherFactory;
  /** The warnings of this load, kept with the rules they are about. */
  warnings: readonly RuleError[];
}

export function compileRuleset(checked: CheckedRuleset, options: CompileOptions): RulesetSnapshot {
  const { stages, stageIndex, stageRules } = checked;
  const { createMatcher } = options;
  const env = { segments: checked.segments, stageIndex };
  const placementMap = new Map<string, Placement>();
  for (const p of checked.placements) {
    const enabled = p.rules.filter((r) => r.enabled);
    const rulesByStage = new Map(stages.map((stage) => [stage, [] as DecisionRule[]]));
    for (const rule of enabled) {
      const allowed = possibleStages(rule.conditions, checked.segments, stages);
      for (const [stage, list] of rulesByStage) if (!allowed || allowed.has(stage)) list.push(rule);
    }
    // Decided here, once: a decision for a placement without capped items counts nothing.
    const capped = [...p.rules.flatMap((rule) => rule.items), ...p.fallback].some((id) => checked.catalog.get(id)?.caps);
    placementMap.set(p.name, { ...p, rulesByStage, matcher: createMatcher(enabled, env), capped });
  }
  return {
    version: rulesVersion(options.ruleFiles),
    loadedAt: new Date(options.now).toISOString(),
    stages,
    stageIndex,
    stageRules,
    stageMatcher: createMatcher(stageRules, env),
    catalog: checked.catalog,
    segments: checked.segments,
    placements: placementMap,
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
