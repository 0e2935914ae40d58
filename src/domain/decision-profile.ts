import type { JsonObject } from './json.js';
import type { Profile } from './profile.js';

/**
 * What a decision needs of a profile, and nothing more: the attributes, the
 * explicit stage, and the touchpoints as three parallel columns, newest first
 * (no ids, no properties: no fact reads them). This is the form the profile
 * cache keeps, so a hundred thousand cached customers fit in little memory.
 */
export interface DecisionProfile {
  readonly customerId: string;
  readonly attributes: Readonly<JsonObject>;
  /** The explicitly set stage, or null. */
  readonly stage: string | null;
  /** Touchpoint types, newest first. */
  readonly types: readonly string[];
  /** Touchpoint channels, in the same order. */
  readonly channels: readonly string[];
  /** Touchpoint times in epoch milliseconds, in the same order. */
  readonly at: Float64Array;
}

/**
 * Type and channel strings repeat across every profile (a few dozen slugs);
 * keeping one copy of each saves most of a cached profile's memory. The table
 * is bounded so a sender inventing slugs cannot grow it without limit.
 */
const interned = new Map<string, string>();
const MAX_INTERNED = 10_000;

export function intern(value: string): string {
  const known = interned.get(value);
  if (known !== undefined) return known;
  if (interned.size < MAX_INTERNED) interned.set(value, value);
  return value;
}

export function toDecisionProfile(profile: Profile): DecisionProfile {
  const count = profile.touchpoints.length;
  const types = new Array<string>(count);
  const channels = new Array<string>(count);
  const at = new Float64Array(count);
  profile.touchpoints.forEach((tp, i) => {
    types[i] = intern(tp.type);
    channels[i] = intern(tp.channel);
    at[i] = tp.at;
  });
  return { customerId: profile.customerId, attributes: profile.attributes, stage: profile.stage, types, channels, at };
}
