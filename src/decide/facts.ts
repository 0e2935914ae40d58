/**
 * Fact values for one decision, computed from the profile and request once:
 * constant facts up front, parameterised facts on first use and then memoised
 * by their parameters, so a fact used by fifty conditions is computed once.
 */
import type { JsonObject } from '../domain/json.js';
import type { DecisionProfile } from '../domain/decision-profile.js';
import type { BucketParams, TouchpointCountParams, TouchpointFilterParams } from '../ruleset/fact-catalog.js';
import type { FactSource } from '../ruleset/matcher.js';
import { bucketOf } from './bucket.js';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface DecisionFacts extends FactSource {
  stage: string | undefined;
  stageIndex: number | undefined;
}

export function createFacts(input: {
  customerId: string;
  profile: DecisionProfile | null;
  context: JsonObject;
  now: number;
}): DecisionFacts {
  const { customerId, now } = input;
  const types = input.profile?.types ?? [];
  const channels = input.profile?.channels ?? [];
  const at = input.profile?.at ?? new Float64Array(0);
  // Memoised by the params object: compiled conditions pass the same object every time, and
  // json-rules-engine caches fact values by their params itself.
  const counts = new Map<object, number>();
  const recency = new Map<object, number | null>();
  // Facts of the profile alone (buckets, the distinct types and channels) are kept with the
  // cached profile object across decisions: a SHA-256 per salt and two sorts were several
  // percent of a GET decision. Without a profile, or for one of another id, they are per decision.
  const memo = input.profile?.customerId === customerId ? profileMemo(input.profile) : newMemo();
  const buckets = memo.buckets;

  return {
    customerId,
    attributes: input.profile?.attributes ?? {},
    context: input.context,
    // Built on first use: most rule sets never read them.
    get touchpointTypes(): string[] {
      return (memo.touchpointTypes ??= distinct(types));
    },
    get channels(): string[] {
      return (memo.channels ??= distinct(channels));
    },
    stage: undefined,
    stageIndex: undefined,
    touchpointCount(params: TouchpointCountParams): number {
      let count = counts.get(params);
      if (count === undefined) {
        const accepts = touchpointFilter(params);
        const since = params.withinDays === undefined ? -Infinity : now - params.withinDays * DAY_MS;
        count = 0;
        for (let i = 0; i < at.length; i++) if ((at[i] as number) >= since && accepts(types[i] as string, channels[i] as string)) count++;
        counts.set(params, count);
      }
      return count;
    },
    daysSinceLastTouchpoint(params: TouchpointFilterParams): number | null {
      let days = recency.get(params);
      if (days === undefined) {
        const accepts = touchpointFilter(params);
        let newest = -Infinity;
        for (let i = 0; i < at.length; i++) {
          if ((at[i] as number) > newest && accepts(types[i] as string, channels[i] as string)) newest = at[i] as number;
        }
        days = newest === -Infinity ? null : Math.max(0, now - newest) / DAY_MS;
        recency.set(params, days);
      }
      return days;
    },
    bucket(params: BucketParams): number {
      let bucket = buckets.get(params.salt);
      if (bucket === undefined) {
        bucket = bucketOf(customerId, params.salt);
        buckets.set(params.salt, bucket);
      }
      return bucket;
    },
  };
}

interface ProfileMemo {
  /** Salt to bucket. */
  buckets: Map<string, number>;
  touchpointTypes?: string[];
  channels?: string[];
}

/**
 * What has been computed so far from a profile object alone. Weakly held: it
 * lives exactly as long as the profile cache keeps the profile (a write makes
 * a new profile object, which starts empty), and a few salts and slugs cost
 * little beside the profile's touchpoints.
 */
const memoByProfile = new WeakMap<DecisionProfile, ProfileMemo>();

function newMemo(): ProfileMemo {
  return { buckets: new Map() };
}

function profileMemo(profile: DecisionProfile): ProfileMemo {
  let memo = memoByProfile.get(profile);
  if (!memo) {
    memo = newMemo();
    memoByProfile.set(profile, memo);
  }
  return memo;
}

function distinct(values: readonly string[]): string[] {
  return [...new Set(values)].sort();
}

function asList(value: string | readonly string[] | undefined): readonly string[] | null {
  if (value === undefined) return null;
  return typeof value === 'string' ? [value] : value;
}

function touchpointFilter(params: TouchpointFilterParams): (type: string, channel: string) => boolean {
  const types = asList(params.type);
  const channels = asList(params.channel);
  return (type, channel) => (types === null || types.includes(type)) && (channels === null || channels.includes(channel));
}
