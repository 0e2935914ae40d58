import type { Decision, DecisionRequest, PlacementDecision } from '../domain/decision.js';
import { InvalidInputError, type FieldError } from '../domain/errors.js';
import { toDecisionProfile, type DecisionProfile } from '../domain/decision-profile.js';
import type { OutcomeTotals } from '../domain/outcome-totals.js';
import type { Profile } from '../domain/profile.js';
import { createFacts } from '../conditions/decision-facts.js';
import type { Placement, RulesetSnapshot } from '../ruleset/snapshot.js';
import { arbitrate } from './arbitrate.js';
import { createCapCheck, type CapCheck } from './caps.js';
import { explainPlacement } from './explain.js';
import { decideOptimized, type GoalStatsSource, type OptimizeInput } from './optimize.js';
import type { RandomSource } from './sampling.js';
import { explainStage, resolveStage, type StageResolution } from './stage.js';

export interface DecideOptions {
  now: number;
  decisionId: string;
  /** Everyone's outcomes, for caps with scope "all"; absent: every such count is 0. */
  outcomeTotals?: OutcomeTotals | undefined;
  /**
   * Chance, for placements with optimize: which arm a decision takes, and
   * each item's sampled goal rate. Absent: such placements keep priority
   * order and say so (`ranking: "priority"`), as rule tests want.
   */
  random?: RandomSource;
  /** The goal statistics optimized placements rank by; absent or empty for a placement: every item starts from Beta(1, 1). */
  goalStats?: GoalStatsSource;
}

/**
 * A request naming placements the rules do not define: `errors` name each
 * one where the request names it (`$.placements[i]`, every time it does), and
 * the message lists them with the placements the rules do define.
 */
export class UnknownPlacementsError extends InvalidInputError {
  constructor(
    /** The unknown names, each once, in the order asked. */
    readonly placements: string[],
    /** The placements the rules define. */
    readonly defined: string[],
    errors: FieldError[],
  ) {
    super(
      `unknown placement${placements.length > 1 ? 's' : ''}: ${placements.join(', ')}; the rules define ${defined.join(', ') || 'none'}`,
      errors,
    );
    this.name = 'UnknownPlacementsError';
  }
}

function unknownPlacementsError(snapshot: RulesetSnapshot, asked: readonly string[], positions: readonly number[]): UnknownPlacementsError {
  const names = [...new Set(positions.map((i) => asked[i] as string))];
  const errors = positions.map((i) => ({ path: `$.placements[${i}]`, message: `unknown placement "${asked[i]}"` }));
  return new UnknownPlacementsError(names, [...snapshot.placements.keys()], errors);
}

/**
 * The decision for one customer and request, from one rules snapshot. Pure
 * apart from the clock and id it is given: the same inputs give the same decision.
 */
export async function decide(
  snapshot: RulesetSnapshot,
  profile: DecisionProfile | null,
  request: DecisionRequest,
  options: DecideOptions,
): Promise<Decision> {
  // The one check that every placement asked for is defined; each is decided once, in the order first asked.
  const asked: Placement[] = [];
  let unknown: number[] | undefined;
  for (let i = 0; i < request.placements.length; i++) {
    const placement = snapshot.placements.get(request.placements[i] as string);
    if (!placement) (unknown ??= []).push(i);
    else if (!asked.includes(placement)) asked.push(placement);
  }
  if (unknown) throw unknownPlacementsError(snapshot, request.placements, unknown);

  // Asked for an alias, the store answers its canonical customer's profile: facts (customerId, bucket) see that id, the
  // answer the one asked for (contract section 11).
  const facts = createFacts({ customerId: profile?.customerId ?? request.customerId, profile, context: request.context, now: options.now });
  const channel = typeof request.context.channel === 'string' ? request.context.channel : undefined;
  // One check for the whole decision (an item offered in two placements is counted once), and none
  // at all when no placement asked for lists a capped item.
  let capCheck: CapCheck | undefined;
  for (const placement of asked) {
    if (placement.capped) {
      capCheck = createCapCheck(facts, options.outcomeTotals, options.now);
      break;
    }
  }

  if (request.explain) {
    const stageTrace = explainStage(snapshot, profile, facts);
    const placements: Record<string, PlacementDecision> = {};
    for (const placement of asked) {
      const optimize = optimizeInput(placement, options);
      const explained = explainPlacement(snapshot, placement, facts, options.now, channel, placement.capped ? capCheck : undefined, optimize);
      placements[placement.name] = placement.optimize !== null && !optimize ? { ...explained, ranking: 'priority' } : explained;
    }
    return { ...header(snapshot, request, options, stageTrace), placements, stageTrace };
  }

  // No await where the evaluator answers at once (the compiled one): the whole decision then runs
  // without a break, which in a busy server keeps its rules and profile in the CPU's caches.
  const resolving = resolveStage(snapshot, profile, facts);
  const stage = resolving instanceof Promise ? await resolving : resolving;
  const placements: Record<string, PlacementDecision> = {};
  for (const placement of asked) {
    const { matcher } = placement;
    let matches: (ruleName: string) => boolean;
    if (matcher.holds) {
      // Rule by rule, in priority order, until the placement is full.
      const holds = matcher.holds.bind(matcher);
      matches = (ruleName) => holds(ruleName, facts);
    } else {
      const matched = await matcher.match(facts);
      matches = (ruleName) => matched.has(ruleName);
    }
    const rules = placement.rulesByStage.get(stage.stage) ?? placement.rules;
    const placementCaps = placement.capped ? capCheck : undefined;
    const input = { placement, rules, catalog: snapshot.catalog, matches, now: options.now, channel, capCheck: placementCaps };
    if (placement.optimize === null) placements[placement.name] = arbitrate(input);
    else {
      const optimize = optimizeInput(placement, options);
      placements[placement.name] = optimize ? decideOptimized(input, optimize) : { ...arbitrate(input), ranking: 'priority' };
    }
  }
  return { ...header(snapshot, request, options, stage), placements };
}

/** What an optimized placement ranks with; undefined for other placements, or without a random source. */
function optimizeInput(placement: Placement, options: DecideOptions): OptimizeInput | undefined {
  if (placement.optimize === null || !options.random) return undefined;
  return { optimize: placement.optimize, random: options.random, stats: options.goalStats?.(placement.name) };
}

function header(
  snapshot: RulesetSnapshot,
  request: DecisionRequest,
  options: DecideOptions,
  stage: { stage: string; source: Decision['stageSource'] },
): Omit<Decision, 'placements'> {
  return {
    decisionId: options.decisionId,
    customerId: request.customerId,
    stage: stage.stage,
    stageSource: stage.source,
    rulesVersion: snapshot.version,
  };
}

/** A profile's current stage and where it comes from, outside a decision (the profile view). */
export async function profileStage(snapshot: RulesetSnapshot, profile: Profile, now: number): Promise<StageResolution> {
  const compact = toDecisionProfile(profile);
  const facts = createFacts({ customerId: profile.customerId, profile: compact, context: {}, now });
  return await resolveStage(snapshot, compact, facts);
}
