import type { JsonObject } from './json.js';
import { OUTCOME_KINDS, outcomesNewestFirst, type OutcomeKind } from './outcome.js';
import type { Profile } from './profile.js';

/**
 * What a decision needs of a profile, and nothing more: the attributes, the
 * explicit stage, the touchpoints as three parallel columns, newest first
 * (no ids, no properties: no fact reads them), and the outcomes likewise.
 * This is the form the profile cache keeps, so a hundred thousand cached
 * customers fit in little memory.
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
  /** What the customer did with what was served (caps, the outcomeCount fact); NO_OUTCOMES when nothing. */
  readonly outcomes: OutcomeColumns;
}

/**
 * A customer's outcomes as parallel columns, newest first: only what caps and
 * the outcomeCount fact read (no decision ids, rules or values). Kinds, items
 * and placements are interned strings.
 */
export interface OutcomeColumns {
  readonly kinds: readonly OutcomeKind[];
  readonly items: readonly string[];
  readonly placements: readonly string[];
  /** Epoch milliseconds. */
  readonly at: Float64Array;
}

/**
 * The columns of every customer without outcomes, shared: most customers have
 * none, and a cached profile then costs nothing more than before outcomes.
 */
export const NO_OUTCOMES: OutcomeColumns = Object.freeze({
  kinds: Object.freeze([]) as readonly OutcomeKind[],
  items: Object.freeze([]) as readonly string[],
  placements: Object.freeze([]) as readonly string[],
  // An empty typed array has nothing to change, though it cannot be frozen.
  at: new Float64Array(0),
});

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
  const outcomes = toOutcomeColumns(profile.outcomes);
  return { customerId: profile.customerId, attributes: profile.attributes, stage: profile.stage, types, channels, at, outcomes };
}

/** The kind strings themselves, so a profile's kinds are the same few instances. */
const KIND_INSTANCES = new Map<string, OutcomeKind>(OUTCOME_KINDS.map((kind) => [kind, kind]));

/** A profile's outcomes as decision columns, newest first; NO_OUTCOMES for none. */
export function toOutcomeColumns(stored: Profile['outcomes']): OutcomeColumns {
  if (stored === undefined || stored.length === 0) return NO_OUTCOMES;
  // Stores keep them newest first; sorting a copy costs little and makes that a guarantee.
  const sorted = [...stored].sort(outcomesNewestFirst);
  const count = sorted.length;
  const kinds = new Array<OutcomeKind>(count);
  const items = new Array<string>(count);
  const placements = new Array<string>(count);
  const at = new Float64Array(count);
  sorted.forEach((outcome, i) => {
    kinds[i] = KIND_INSTANCES.get(outcome.kind) ?? outcome.kind;
    items[i] = intern(outcome.item);
    placements[i] = intern(outcome.placement);
    at[i] = outcome.at;
  });
  return { kinds, items, placements, at };
}
