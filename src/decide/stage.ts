import type { Profile, StageSource } from '../domain/profile.js';
import type { RulesetSnapshot } from '../ruleset/snapshot.js';
import { createFacts, type DecisionFacts } from './facts.js';

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
 */
export async function resolveStage(snapshot: RulesetSnapshot, profile: Profile | null, facts: DecisionFacts): Promise<StageResolution> {
  const resolution = await inferStage(snapshot, profile, facts);
  facts.stage = resolution.stage;
  facts.stageIndex = snapshot.stageIndex.get(resolution.stage);
  return resolution;
}

async function inferStage(snapshot: RulesetSnapshot, profile: Profile | null, facts: DecisionFacts): Promise<StageResolution> {
  if (profile?.stage != null && snapshot.stageIndex.has(profile.stage)) {
    return { stage: profile.stage, source: 'explicit', rule: null };
  }
  if (snapshot.stageRules.length > 0) {
    const matched = await snapshot.stageMatcher.match(facts);
    const winner = snapshot.stageRules.find((rule) => matched.has(rule.name));
    if (winner) return { stage: winner.stage, source: 'inferred', rule: winner.name };
  }
  return { stage: snapshot.stages[0] as string, source: 'default', rule: null };
}

/** The current stage of a profile outside a decision (for the profile view). */
export async function currentStage(snapshot: RulesetSnapshot, profile: Profile, now: number): Promise<StageResolution> {
  const facts = createFacts({ customerId: profile.customerId, profile, context: {}, now });
  return resolveStage(snapshot, profile, facts);
}
