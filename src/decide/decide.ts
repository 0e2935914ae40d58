import type { Decision, DecisionRequest, PlacementDecision } from '../domain/decision.js';
import { InvalidInputError } from '../domain/errors.js';
import type { Profile } from '../domain/profile.js';
import type { RulesetSnapshot } from '../ruleset/snapshot.js';
import { arbitrate } from './arbitrate.js';
import { createFacts } from './facts.js';
import { resolveStage } from './stage.js';

export interface DecideOptions {
  now: number;
  decisionId: string;
}

export function unknownPlacements(snapshot: RulesetSnapshot, placements: readonly string[]): string[] {
  return placements.filter((name) => !snapshot.placements.has(name));
}

export class UnknownPlacementsError extends InvalidInputError {
  constructor(readonly placements: string[]) {
    super(
      `unknown placement${placements.length > 1 ? 's' : ''}: ${placements.join(', ')}`,
      placements.map((name) => ({ path: '$.placements', message: `unknown placement "${name}"` })),
    );
    this.name = 'UnknownPlacementsError';
  }
}

/**
 * The decision for one customer and request, from one rules snapshot. Pure
 * apart from the clock and id it is given: the same inputs give the same decision.
 */
export async function decide(
  snapshot: RulesetSnapshot,
  profile: Profile | null,
  request: DecisionRequest,
  options: DecideOptions,
): Promise<Decision> {
  const unknown = unknownPlacements(snapshot, request.placements);
  if (unknown.length > 0) throw new UnknownPlacementsError(unknown);

  const facts = createFacts({ customerId: request.customerId, profile, context: request.context, now: options.now });
  const stage = await resolveStage(snapshot, profile, facts);
  const channel = typeof request.context.channel === 'string' ? request.context.channel : undefined;

  const decided = await Promise.all(
    request.placements.map(async (name): Promise<[string, PlacementDecision]> => {
      const placement = snapshot.placements.get(name);
      if (!placement) throw new UnknownPlacementsError([name]);
      const matched = await placement.matcher.match(facts);
      return [name, arbitrate({ placement, catalog: snapshot.catalog, matched, now: options.now, channel })];
    }),
  );
  const placements: Record<string, PlacementDecision> = {};
  for (const [name, decision] of decided) placements[name] = decision;

  return {
    decisionId: options.decisionId,
    customerId: request.customerId,
    stage: stage.stage,
    stageSource: stage.source,
    rulesVersion: snapshot.version,
    placements,
  };
}
