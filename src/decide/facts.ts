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
  // Stores answer touchpoints newest first; then a window's count stops at the first older one,
  // and the newest match is the first. Checked once per profile rather than trusted.
  const newestFirst = (memo.newestFirst ??= isNewestFirst(at));

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
        const filter = filterOf(params);
        const since = filter.withinDays === undefined ? -Infinity : now - filter.withinDays * DAY_MS;
        count = 0;
        for (let i = 0; i < at.length; i++) {
          const time = at[i] as number;
          if (!(time >= since)) {
            // Older than the window; with the newest first, so is every one after it.
            if (newestFirst && time < since) break;
            continue;
          }
          if (accepts(filter, types[i] as string, channels[i] as string)) count++;
        }
        counts.set(params, count);
      }
      return count;
    },
    daysSinceLastTouchpoint(params: TouchpointFilterParams): number | null {
      let days = recency.get(params);
      if (days === undefined) {
        const filter = filterOf(params);
        let newest = -Infinity;
        for (let i = 0; i < at.length; i++) {
          if ((at[i] as number) > newest && accepts(filter, types[i] as string, channels[i] as string)) {
            newest = at[i] as number;
            if (newestFirst) break;
          }
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
  /** Whether the touchpoint times never increase. */
  newestFirst?: boolean;
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

/** Whether the times never increase (and are all numbers). */
function isNewestFirst(at: Float64Array): boolean {
  for (let i = 0; i < at.length; i++) {
    const time = at[i] as number;
    if (Number.isNaN(time) || (i > 0 && time > (at[i - 1] as number))) return false;
  }
  return true;
}

/** What touchpoint params ask, read once per params object. */
interface TouchpointFilter {
  types: readonly string[] | null;
  channels: readonly string[] | null;
  withinDays: number | undefined;
}

/**
 * Params objects belong to the rules (a compiled condition passes the same one
 * every time), so their filters are kept for as long as the rules are.
 */
const filters = new WeakMap<TouchpointCountParams, TouchpointFilter>();

function filterOf(params: TouchpointCountParams): TouchpointFilter {
  let filter = filters.get(params);
  if (!filter) {
    const types = asList(params.type);
    const channels = asList(params.channel);
    const withinDays = params.withinDays;
    filter = { types, channels, withinDays };
    filters.set(params, filter);
  }
  return filter;
}

function accepts(filter: TouchpointFilter, type: string, channel: string): boolean {
  return (filter.types === null || filter.types.includes(type)) && (filter.channels === null || filter.channels.includes(channel));
}

function asList(value: string | readonly string[] | undefined): readonly string[] | null {
  if (value === undefined) return null;
  return typeof value === 'string' ? [value] : value;
}
