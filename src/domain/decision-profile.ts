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
 * keeping one copy of each saves most of a cached profile's memory. Each kept
 * string also gets a small number, its id, so that touchpoint filters compare
 * numbers rather than strings (src/conditions/decision-facts.ts). The table only grows, so
 * an id never changes meaning, and it is bounded so a sender inventing slugs
 * cannot grow it without limit: past the bound, new strings get no id.
 */
const ids = new Map<string, number>();
/** By id; id 0 is "no id". */
const values: string[] = [''];
export const MAX_INTERNED = 10_000;

export function intern(value: string): string {
  const id = internedId(value);
  return id === NO_ID ? value : (values[id] as string);
}

/** The string's id, adding it to the table while there is room; NO_ID once the table is full. */
export function internedId(value: string): number {
  const known = ids.get(value);
  if (known !== undefined) return known;
  if (ids.size >= MAX_INTERNED) return NO_ID;
  const id = values.length;
  values.push(value);
  ids.set(value, id);
  return id;
}

/** The id of a string without an id. */
export const NO_ID = 0;

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
