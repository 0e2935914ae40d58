/**
 * The journey map (contract section 14) over a stream of decision profiles:
 * each customer's stage now and as at `days` ago, counted by stage and by
 * (then, now), and the touchpoints of the last `days` per current stage.
 * Pure apart from the profiles it is fed: the background job (journey-job.ts)
 * scans the store and feeds them page by page.
 */
import { NO_OUTCOMES, type DecisionProfile, type OutcomeColumns } from '../domain/decision-profile.js';
import type { JourneyReport } from '../domain/journey.js';
import { createFacts } from '../conditions/decision-facts.js';
import { resolveStage } from '../decide/stage.js';
import type { RulesetSnapshot } from '../ruleset/snapshot.js';
import { DAY_MS } from '../profiles/store.js';

export interface JourneyTally {
  /** Counts one customer; the same id twice counts once (a Redis scan may repeat one). */
  add(profile: DecisionProfile): Promise<void>;
  result(): JourneyReport;
}

export function createJourneyTally(snapshot: RulesetSnapshot, options: { now: number; days: number }): JourneyTally {
  const { now, days } = options;
  const then = now - days * DAY_MS;
  const stageCount = snapshot.stages.length;
  const nowCounts = new Array<number>(stageCount).fill(0);
  const thenCounts = new Array<number>(stageCount).fill(0);
  /** then × stageCount + now → customers. */
  const flows = new Array<number>(stageCount * stageCount).fill(0);
  /** Per current stage: "type\nchannel" → count. */
  const touchpoints = snapshot.stages.map(() => new Map<string, number>());
  const seen = new Set<string>();

  async function stageAt(profile: DecisionProfile, at: number): Promise<number> {
    const facts = createFacts({ customerId: profile.customerId, profile, context: {}, now: at });
    const resolved = await resolveStage(snapshot, profile, facts);
    return snapshot.stageIndex.get(resolved.stage) ?? 0;
  }

  return {
    async add(profile) {
      if (seen.has(profile.customerId)) return;
      seen.add(profile.customerId);
      const current = await stageAt(profile, now);
      const past = asAt(profile, then);
      const previous = past === null ? 0 : await stageAt(past, then);
      nowCounts[current] = (nowCounts[current] ?? 0) + 1;
      thenCounts[previous] = (thenCounts[previous] ?? 0) + 1;
      const flow = previous * stageCount + current;
      flows[flow] = (flows[flow] ?? 0) + 1;
      const byKind = touchpoints[current] as Map<string, number>;
      // Newest first: the first one before the window ends the count.
      for (let i = 0; i < profile.at.length && (profile.at[i] as number) >= then; i++) {
        if ((profile.at[i] as number) > now) continue;
        const key = `${profile.types[i]}\n${profile.channels[i]}`;
        byKind.set(key, (byKind.get(key) ?? 0) + 1);
      }
    },
    result() {
      const customers = seen.size;
      const stages = snapshot.stages.map((stage, i) => ({
        stage,
        customers: nowCounts[i] as number,
        share: customers === 0 ? 0 : (nowCounts[i] as number) / customers,
        customersThen: thenCounts[i] as number,
      }));
      const transitions: JourneyReport['transitions'] = [];
      for (let from = 0; from < stageCount; from++) {
        for (let to = 0; to < stageCount; to++) {
          const count = flows[from * stageCount + to] as number;
          if (count > 0) transitions.push({ from: snapshot.stages[from] as string, to: snapshot.stages[to] as string, customers: count });
        }
      }
      const touchpointRows: JourneyReport['touchpoints'] = [];
      snapshot.stages.forEach((stage, i) => {
        const rows = [...(touchpoints[i] as Map<string, number>)].map(([key, count]) => {
          const [type = '', channel = ''] = key.split('\n');
          return { stage, type, channel, count };
        });
        rows.sort((a, b) => b.count - a.count || a.type.localeCompare(b.type) || a.channel.localeCompare(b.channel));
        touchpointRows.push(...rows);
      });
      return {
        asOf: new Date(now).toISOString(),
        days,
        rulesVersion: snapshot.version,
        customers,
        stages,
        transitions,
        touchpoints: touchpointRows,
      };
    },
  };
}

/**
 * The profile as it stood at `then`: only the touchpoints and outcomes up to
 * then, and no explicit stage (it counts only for now; when it was set is
 * not kept). Null when the customer had nothing by then: the first stage.
 */
export function asAt(profile: DecisionProfile, then: number): DecisionProfile | null {
  const firstTouchpoint = firstAtOrBefore(profile.at, then);
  const firstOutcome = firstAtOrBefore(profile.outcomes.at, then);
  if (firstTouchpoint === profile.at.length && firstOutcome === profile.outcomes.at.length) return null;
  const outcomes: OutcomeColumns =
    firstOutcome === 0
      ? profile.outcomes
      : firstOutcome === profile.outcomes.at.length
        ? NO_OUTCOMES
        : {
            kinds: profile.outcomes.kinds.slice(firstOutcome),
            items: profile.outcomes.items.slice(firstOutcome),
            placements: profile.outcomes.placements.slice(firstOutcome),
            at: profile.outcomes.at.subarray(firstOutcome),
          };
  return {
    customerId: profile.customerId,
    attributes: profile.attributes,
    stage: null,
    types: profile.types.slice(firstTouchpoint),
    channels: profile.channels.slice(firstTouchpoint),
    at: profile.at.subarray(firstTouchpoint),
    outcomes,
  };
}

/** In a newest-first column, the index of the first time at or before `then` (the length when none is). */
function firstAtOrBefore(times: Float64Array, then: number): number {
  let low = 0;
  let high = times.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((times[mid] as number) > then) low = mid + 1;
    else high = mid;
  }
  return low;
}
