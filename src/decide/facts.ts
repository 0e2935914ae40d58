/**
 * Fact values for one decision, computed from the profile and request once:
 * constant facts up front, parameterised facts on first use and then memoised
 * by their parameters, so a fact used by fifty conditions is computed once.
 */
import type { JsonObject } from '../domain/json.js';
import type { Profile } from '../domain/profile.js';
import type { StoredTouchpoint } from '../domain/touchpoint.js';
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
  profile: Profile | null;
  context: JsonObject;
  now: number;
}): DecisionFacts {
  const { customerId, now } = input;
  const touchpoints: readonly StoredTouchpoint[] = input.profile?.touchpoints ?? [];
  const counts = new Map<string, number>();
  const recency = new Map<string, number | null>();
  const buckets = new Map<string, number>();

  return {
    customerId,
    attributes: input.profile?.attributes ?? {},
    context: input.context,
    touchpointTypes: distinct(touchpoints, 'type'),
    channels: distinct(touchpoints, 'channel'),
    stage: undefined,
    stageIndex: undefined,
    touchpointCount(params: TouchpointCountParams): number {
      const key = filterKey(params) + `|${params.withinDays ?? ''}`;
      let count = counts.get(key);
      if (count === undefined) {
        const accepts = touchpointFilter(params);
        const since = params.withinDays === undefined ? -Infinity : now - params.withinDays * DAY_MS;
        count = 0;
        for (const tp of touchpoints) if (tp.at >= since && accepts(tp)) count++;
        counts.set(key, count);
      }
      return count;
    },
    daysSinceLastTouchpoint(params: TouchpointFilterParams): number | null {
      const key = filterKey(params);
      let days = recency.get(key);
      if (days === undefined) {
        const accepts = touchpointFilter(params);
        let newest = -Infinity;
        for (const tp of touchpoints) if (tp.at > newest && accepts(tp)) newest = tp.at;
        days = newest === -Infinity ? null : Math.max(0, now - newest) / DAY_MS;
        recency.set(key, days);
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

function distinct(touchpoints: readonly StoredTouchpoint[], field: 'type' | 'channel'): string[] {
  const values = new Set<string>();
  for (const tp of touchpoints) values.add(tp[field]);
  return [...values].sort();
}

function asList(value: string | readonly string[] | undefined): readonly string[] | null {
  if (value === undefined) return null;
  return typeof value === 'string' ? [value] : value;
}

function filterKey(params: TouchpointFilterParams): string {
  return `${asList(params.type)?.join(',') ?? '*'}|${asList(params.channel)?.join(',') ?? '*'}`;
}

function touchpointFilter(params: TouchpointFilterParams): (tp: StoredTouchpoint) => boolean {
  const types = asList(params.type);
  const channels = asList(params.channel);
  return (tp) => (types === null || types.includes(tp.type)) && (channels === null || channels.includes(tp.channel));
}
