import type { DecisionProfile } from '../domain/decision-profile.js';
import type { StageSource } from '../domain/profile.js';
import type { StageRuleTrace, StageTrace } from '../domain/trace.js';
import type { DecisionFacts } from '../conditions/decision-facts.js';
import { traceCondition } from '../conditions/trace.js';
import type { RulesetSnapshot } from '../ruleset/snapshot.js';

export interface StageResolution {
  stage: string;
  source: StageSource;
  /** The stage rule that decided an inferred stage. */
  rule: string | null;
}

/**
 * The current stage: the explicit one while it is a listed stage, else the
 * highest-priority matching stage rule (ties in file order), else the first stage.
 * Sets `stage` and `stageIndex` on the facts for the placement rules.
 *
 * Answers at once, not through a promise, when the stage matcher can (the
 * compiled one): a decision then runs in one piece, without letting other
 * requests' work in between and push its rules and profile out of the CPU's caches.
 */
export function resolveStage(
  snapshot: RulesetSnapshot,
  profile: DecisionProfile | null,
  facts: DecisionFacts,
): StageResolution | Promise<StageResolution> {
  const explicit = explicitStage(snapshot, profile);
  if (explicit) return setStage(snapshot, facts, explicit);
  const { stageMatcher } = snapshot;
  if (stageMatcher.holds) {
    // Highest priority first: the first rule that holds decides, the rest need no evaluation.
    const winner = snapshot.stageRules.find((rule) => stageMatcher.holds?.(rule.name, facts));
    return setStage(snapshot, facts, winner ? { stage: winner.stage, source: 'inferred', rule: winner.name } : defaultStage(snapshot));
  }
  if (snapshot.stageRules.length === 0) return setStage(snapshot, facts, defaultStage(snapshot));
  return Promise.resolve(stageMatcher.match(facts)).then((matched) => setStage(snapshot, facts, inferred(snapshot, matched)));
}

/** resolveStage, evaluating the stage rules with the tracing evaluator and recording every one. */
export function explainStage(snapshot: RulesetSnapshot, profile: DecisionProfile | null, facts: DecisionFacts): StageTrace {
  const explicit = explicitStage(snapshot, profile);
  if (explicit) {
    setStage(snapshot, facts, explicit);
    return { ...explicit, rules: [] };
  }
  const rules: StageRuleTrace[] = snapshot.stageRules.map((rule) => {
    const conditions = traceCondition(rule.conditions, facts, snapshot.evaluation);
    return { name: rule.name, priority: rule.priority, stage: rule.stage, outcome: conditions.result ? 'matched' : 'not-matched', conditions };
  });
  const matched = new Set(rules.filter((r) => r.outcome === 'matched').map((r) => r.name));
  const resolution = setStage(snapshot, facts, inferred(snapshot, matched));
  return { ...resolution, rules };
}

function explicitStage(snapshot: RulesetSnapshot, profile: DecisionProfile | null): StageResolution | null {
  if (profile?.stage != null && snapshot.stageIndex.has(profile.stage)) {
    return { stage: profile.stage, source: 'explicit', rule: null };
  }
  return null;
}

function inferred(snapshot: RulesetSnapshot, matched: ReadonlySet<string>): StageResolution {
  const winner = snapshot.stageRules.find((rule) => matched.has(rule.name));
  if (winner) return { stage: winner.stage, source: 'inferred', rule: winner.name };
  return defaultStage(snapshot);
}

function defaultStage(snapshot: RulesetSnapshot): StageResolution {
  return { stage: snapshot.stages[0] as string, source: 'default', rule: null };
}

function setStage(snapshot: RulesetSnapshot, facts: DecisionFacts, resolution: StageResolution): StageResolution {
  facts.stage = resolution.stage;
  facts.stageIndex = snapshot.stageIndex.get(resolution.stage);
  return resolution;
}

