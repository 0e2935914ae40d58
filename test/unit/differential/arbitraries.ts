/**
 * fast-check arbitraries for the differential tests (test/unit/differential.test.ts):
 * conditions over every fact, operator and decorator chain with edge values,
 * segments, profiles, contexts, and whole rules folders.
 *
 * Two modes. `valid: true` generates only what src/ruleset/build.ts accepts
 * (so whole folders can be built and decided with); `valid: false` also gives
 * the matchers what validation would reject (paths on scalar facts, bad paths,
 * wrong value types, odd params, empty `any`), because the compiled evaluator
 * and json-rules-engine must agree on anything they are given. Neither mode
 * generates what json-rules-engine itself rejects by throwing: unknown facts,
 * operators or segments, the stage facts while the stage is unset, params a
 * fact cannot compute with.
 *
 * Paths come from two lists, both of paths the validator accepts: the first
 * reaches keys, indexes and missing keys; the second reads into strings (a
 * character by index, `.length`), arrays' `.length`, and inherited members
 * that must read as missing. `paths: 'plain'` keeps every path to those lists
 * (so json-rules-engine as shipped, with jsonpath-plus, reads the same plain
 * property access), where the other mode adds paths the validator rejects.
 */
import fc from 'fast-check';
import { NO_OUTCOMES, type DecisionProfile } from '../../../src/domain/decision-profile.js';
import type { JsonObject } from '../../../src/domain/json.js';
import { DEFAULT_STAGES, type BooleanCondition, type Condition, type FactCondition } from '../../../src/domain/rule-files.js';
import { FACT_NAMES, FACTS, type FactName } from '../../../src/conditions/fact-catalog.js';
import { OUTCOME_KINDS, type OutcomeKind } from '../../../src/domain/outcome.js';
import { BASE_OPERATOR_NAMES, DECORATOR_NAMES, type BaseOperatorName, type DecoratorName } from '../../../src/conditions/operators.js';

export const NOW = Date.parse('2026-05-10T12:00:00Z');
export const DAY = 24 * 60 * 60 * 1000;

export const TYPES = ['page_view', 'email_open', 'purchase', 'signup'] as const;
export const CHANNELS = ['web', 'app', 'email', 'store'] as const;
export const CUSTOMER_IDS = ['c1', 'c2', 'cust-42', '5', 'x@y.z'] as const;
/** Items and placements outcomes name: those of a generated rules folder (i0.., p0..), and some no folder has. */
export const OUTCOME_ITEMS = ['i0', 'i1', 'i2', 'i3', 'zz'] as const;
export const OUTCOME_PLACEMENTS = ['p0', 'p1', 'p2', 'elsewhere'] as const;
/** Whole days some touchpoints are exactly this old: the `withinDays` boundaries. */
export const WITHIN_DAYS = [1, 7, 30, 90] as const;
const STAGE_POOL = ['lead', 'trial', 'paid', 'churned', 'vip', 'awareness', 'purchase'] as const;
const STRINGS = ['gold', 'silver', '', '5', '0', '1.5', 'true', 'null', 'nowhere', 'k y', 'g', 'a', 'abc'] as const;
/** Strings to index into: empty, one character, a character outside the BMP (two UTF-16 units), digits. */
const NAMES = ['abc', 'a', '', 'gold', 'k y', '\u{1F600}x', '42'] as const;
/** Keys of attributes, among them a numeric one and one with a dot, which quoted paths read literally. */
const ATTRIBUTE_KEYS = ['tier', 'score', 'a', 'list', 'k y', 'flag', 'n', 'name', '0', 'a.b'] as const;

/** Paths the validator accepts, reaching present and missing keys. */
export const VALID_PATHS = [
  '$',
  '$.tier',
  '$.score',
  '$.a',
  '$.a.b',
  '$.a.b.c',
  '$.list',
  '$.list[0]',
  '$.list[1]',
  "$['k y']",
  '$["k y"]',
  '$.missing',
  '$.missing.deep',
  '$[0]',
  '$[2]',
  '$.length',
  '$.channel',
  '$.flag',
] as const;
/**
 * Paths the validator accepts that read into strings and arrays: a character
 * by index (in range or not), `.length` (also on numbers, booleans, null,
 * objects and missing keys), quoted and dotted spellings of both; a numeric
 * and a dotted key on an object; inherited members, which read as missing.
 */
export const STRING_PATHS = [
  '$.name',
  '$.name[0]',
  '$.name[1]',
  '$.name[2]',
  '$.name[9]',
  '$.name.length',
  "$.name['length']",
  '$.name["0"]',
  '$.name.0',
  '$.name.length.x',
  '$.name[0].length',
  '$.tier[0]',
  '$.tier.length',
  '$.channel[0]',
  '$.channel.length',
  "$['k y'].length",
  "$['k y'][1]",
  '$.list.length',
  '$.list.0',
  '$.list[0].length',
  '$.list[0][0]',
  '$.a.length',
  '$.a.b.length',
  '$.a.b[1]',
  '$.score.length',
  '$.flag.length',
  '$.n[0]',
  '$[0].length',
  '$[0][1]',
  '$.0',
  "$['0']",
  "$['a.b']",
  "$['a.b'].length",
  "$['a.b'][0]",
  '$.name.toString',
  '$.name.charAt',
  '$.name.valueOf',
  '$.list.map',
  '$.list.toString',
] as const;
/** Paths the validator rejects (not plain property access, forbidden keys) and the empty path, which means none. */
export const INVALID_PATHS = ['tier', '$.', '$..a', '$[*]', '$.__proto__', '$.constructor', '$.a[01]', "$['a", '', '$ .a', 'a.b'] as const;

/** Objects as JSON.parse makes them (fast-check may otherwise give null-prototype objects, which no rule file or profile holds). */
const JSON_LIKE = { noNullPrototype: true } as const;
const OPTIONAL_KEYS: { requiredKeys: never[]; noNullPrototype: true } = { requiredKeys: [], noNullPrototype: true };

// ---------------------------------------------------------------- stages

export const stagesArb: fc.Arbitrary<string[]> = fc.oneof(
  fc.constant<string[]>([...DEFAULT_STAGES]),
  fc.uniqueArray(fc.constantFrom<string>(...STAGE_POOL), { minLength: 1, maxLength: 5 }),
);

// ---------------------------------------------------------------- values

/** Scalars at the edges: null, booleans, zero, negatives, fractions, huge numbers, numeric strings, stage and non-stage names. */
export function scalarArb(stages: readonly string[]): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.constantFrom<unknown>(null, true, false, 0, -1, 1, 2, 3, 5, 0.5, -2.5, 99, 100, 1e21, 9007199254740993),
    fc.integer({ min: -3, max: 105 }),
    fc.double({ min: -1000, max: 1000, noNaN: true }),
    fc.constantFrom<unknown>(...STRINGS, ...TYPES, ...CHANNELS, ...CUSTOMER_IDS),
    fc.constantFrom<unknown>(...stages),
  );
}

/** Arrays: empty, of mixed scalars, nested one level. */
export function arrayArb(stages: readonly string[]): fc.Arbitrary<unknown[]> {
  const scalar = scalarArb(stages);
  return fc.oneof(
    fc.constant<unknown[]>([]),
    fc.array(scalar, { minLength: 1, maxLength: 4 }),
    fc.uniqueArray(fc.constantFrom<unknown>(...stages), { minLength: 1 }),
    fc.array(fc.oneof(scalar, fc.array(scalar, { maxLength: 2 })), { minLength: 1, maxLength: 3 }),
  );
}

export function plainValueArb(stages: readonly string[]): fc.Arbitrary<unknown> {
  return fc.oneof({ arbitrary: scalarArb(stages), weight: 3 }, { arbitrary: arrayArb(stages), weight: 1 });
}

// ---------------------------------------------------------------- facts, params, paths

export interface ConditionOptions {
  stages: readonly string[];
  /** Segments a condition may reference. */
  segmentNames: readonly string[];
  /** Whether `stage` / `stageIndex` may be read (not in stage rules, nor while the stage is unset). */
  stageFacts: boolean;
  /** Only what the validator accepts. */
  valid: boolean;
  /** 'plain': paths only from VALID_PATHS and STRING_PATHS, even when `valid` is false. */
  paths?: 'any' | 'plain';
  /** The item ids and placements outcomeCount may name (those a rules folder defines); default: OUTCOME_ITEMS, OUTCOME_PLACEMENTS. */
  itemIds?: readonly string[];
  placementNames?: readonly string[];
}

const slugOrList = <T extends string>(pool: readonly T[]): fc.Arbitrary<T | T[]> =>
  fc.oneof(fc.constantFrom(...pool), fc.uniqueArray(fc.constantFrom(...pool), { minLength: 1, maxLength: 3 }));

function touchpointFilterArb(valid: boolean): fc.Arbitrary<Record<string, unknown>> {
  // An unknown slug matches nothing. Invalid: the empty list, and a comma inside one "slug".
  const types = valid
    ? slugOrList([...TYPES, 'refund'])
    : fc.oneof({ arbitrary: slugOrList([...TYPES, 'refund']), weight: 4 }, fc.constantFrom<unknown>([], 'page_view,signup'));
  const channels = valid
    ? slugOrList([...CHANNELS, 'sms'])
    : fc.oneof({ arbitrary: slugOrList([...CHANNELS, 'sms']), weight: 4 }, fc.constantFrom<unknown>([], 'web,app'));
  return fc.record({ type: types, channel: channels }, OPTIONAL_KEYS);
}

function withinDaysArb(valid: boolean): fc.Arbitrary<number | null> {
  const good = fc.oneof(fc.constantFrom(...WITHIN_DAYS, 0.5, 365, 1000), fc.double({ min: 0.01, max: 500, noNaN: true }));
  return valid ? good : fc.oneof({ arbitrary: good, weight: 4 }, fc.constantFrom(0, -1, null));
}

function outcomeCountParamsArb(valid: boolean, names: Pick<ConditionOptions, 'itemIds' | 'placementNames'>): fc.Arbitrary<Record<string, unknown>> {
  const items = names.itemIds ?? OUTCOME_ITEMS;
  const placements = names.placementNames ?? OUTCOME_PLACEMENTS;
  const kinds = valid
    ? slugOrList<string>(OUTCOME_KINDS)
    : fc.oneof({ arbitrary: slugOrList<string>(OUTCOME_KINDS), weight: 4 }, fc.constantFrom<unknown>([], 'purchase', 'click,dismiss'));
  const filter = fc.record(
    { kind: kinds, item: slugOrList(items), placement: slugOrList(placements), withinDays: withinDaysArb(valid) },
    OPTIONAL_KEYS,
  );
  const repeated = fc.constantFrom<Record<string, unknown>>(
    {},
    { kind: 'impression' },
    { kind: 'impression', item: items[0] as string, withinDays: 7 },
    { placement: placements[0] as string, kind: ['click', 'conversion'] },
  );
  return fc.oneof({ arbitrary: filter, weight: 3 }, repeated);
}

export function paramsArb(
  fact: FactName,
  valid: boolean,
  names: Pick<ConditionOptions, 'itemIds' | 'placementNames'> = {},
): fc.Arbitrary<Record<string, unknown> | undefined> {
  switch (fact) {
    case 'outcomeCount':
      return fc.option(outcomeCountParamsArb(valid, names), { nil: undefined });
    case 'touchpointCount': {
      const params = fc.tuple(touchpointFilterArb(valid), fc.option(withinDaysArb(valid), { nil: undefined })).map(([filter, withinDays]) =>
        withinDays === undefined ? filter : { ...filter, withinDays },
      );
      // A few params again and again, so that several conditions in one world share them, or nearly.
      const repeated = fc.constantFrom<Record<string, unknown>>(
        {},
        { type: ['page_view', 'signup'] },
        { channel: 'web', withinDays: 30 },
        ...(valid ? [] : [{ withinDays: null }, { type: 'page_view,signup' }]),
      );
      return fc.option(fc.oneof({ arbitrary: params, weight: 3 }, repeated), { nil: undefined });
    }
    case 'daysSinceLastTouchpoint':
      return fc.option(touchpointFilterArb(valid), { nil: undefined });
    case 'bucket':
      // A salt is required; without one the fact cannot be computed and both evaluators throw.
      return fc.record({ salt: valid ? fc.constantFrom('exp-a', 'exp-b', 'x') : fc.constantFrom('exp-a', 'exp-b', '') }, JSON_LIKE);
    default:
      // Params on a fact that takes none are ignored by both evaluators; the validator rejects them.
      return valid ? fc.constant(undefined) : fc.option(fc.constant({ ignored: 1 }), { nil: undefined, freq: 4 });
  }
}

const acceptedPathArb: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...VALID_PATHS), weight: 3 },
  { arbitrary: fc.constantFrom(...STRING_PATHS), weight: 2 },
);

function pathArb(fact: FactName, o: ConditionOptions): fc.Arbitrary<string | undefined> {
  const objectFact = FACTS[fact].hasProperties;
  if (o.valid) return objectFact ? fc.option(acceptedPathArb, { nil: undefined, freq: 3 }) : fc.constant(undefined);
  // Paths on facts without properties (the validator rejects them) reach json-rules-engine, which ignores them on scalars.
  const anyPath = o.paths === 'plain' ? acceptedPathArb : fc.oneof({ arbitrary: acceptedPathArb, weight: 3 }, fc.constantFrom(...INVALID_PATHS));
  return fc.option(anyPath, { nil: undefined, freq: objectFact ? 3 : 2 });
}

function factNames(o: ConditionOptions): FactName[] {
  return FACT_NAMES.filter((f) => o.stageFacts || (f !== 'stage' && f !== 'stageIndex'));
}

interface FactUse {
  fact: FactName;
  params?: Record<string, unknown>;
  path?: string;
}

function factUseArb(o: ConditionOptions): fc.Arbitrary<FactUse> {
  return fc
    .constantFrom(...factNames(o))
    .chain((fact) =>
      fc.tuple(fc.constant(fact), paramsArb(fact, o.valid, o), pathArb(fact, o)).map(([f, params, path]) => ({
        fact: f,
        ...(params !== undefined ? { params } : {}),
        ...(path !== undefined ? { path } : {}),
      })),
    );
}

/** A fact reference as a condition's value: `{ "fact": ..., "path"?, "params"? }`. */
export function factRefArb(o: ConditionOptions): fc.Arbitrary<FactUse> {
  return factUseArb(o);
}

// ---------------------------------------------------------------- operators

export interface OperatorChoice {
  decorators: DecoratorName[];
  base: BaseOperatorName;
}

export const operatorArb: fc.Arbitrary<OperatorChoice> = fc.record({
  decorators: fc.oneof(
    { arbitrary: fc.constant([] as DecoratorName[]), weight: 3 },
    { arbitrary: fc.array(fc.constantFrom(...DECORATOR_NAMES), { minLength: 1, maxLength: 1 }), weight: 3 },
    { arbitrary: fc.array(fc.constantFrom(...DECORATOR_NAMES), { minLength: 2, maxLength: 2 }), weight: 2 },
  ),
  base: fc.constantFrom(...BASE_OPERATOR_NAMES),
});

export const operatorName = (op: OperatorChoice): string => [...op.decorators, op.base].join(':');

/**
 * A value the validator accepts for this operator (src/ruleset/check-conditions.ts
 * checkValue): `swap:` takes anything, `someValue:` / `everyValue:` a list of
 * values for the rest of the chain, `in` a list, numeric operators a number,
 * stage operators a listed stage.
 */
function validValueArb(decorators: readonly DecoratorName[], base: BaseOperatorName, stages: readonly string[]): fc.Arbitrary<unknown> {
  const [first, ...rest] = decorators;
  if (first === 'swap') return plainValueArb(stages);
  if (first === 'someValue' || first === 'everyValue') return fc.array(validValueArb(rest, base, stages), { maxLength: 4 });
  if (first !== undefined) return validValueArb(rest, base, stages);
  switch (base) {
    case 'in':
    case 'notIn':
      return arrayArb(stages);
    case 'lessThan':
    case 'lessThanInclusive':
    case 'greaterThan':
    case 'greaterThanInclusive':
      return fc.oneof(
        fc.constantFrom(0, 1, 2, 3, 7, 30, 50, 100, -1, 0.5, 1e21),
        fc.integer({ min: -2, max: 101 }),
        fc.double({ min: -5, max: 500, noNaN: true }),
      );
    case 'stageAtLeast':
    case 'stageAtMost':
      return fc.constantFrom(...stages);
    default:
      return plainValueArb(stages);
  }
}

function valueArb(op: OperatorChoice, o: ConditionOptions): fc.Arbitrary<unknown> {
  const plain = o.valid ? validValueArb(op.decorators, op.base, o.stages) : plainValueArb(o.stages);
  const others: fc.WeightedArbitrary<unknown>[] = [{ arbitrary: factRefArb(o), weight: 1 }];
  // An object that is not a fact reference is a constant to both engines; the validator rejects it.
  if (!o.valid) others.push({ arbitrary: fc.constant({ a: 1 }), weight: 1 });
  return fc.oneof({ arbitrary: plain, weight: 6 }, ...others);
}

// ---------------------------------------------------------------- conditions

export function factConditionArb(o: ConditionOptions): fc.Arbitrary<FactCondition> {
  return fc.tuple(factUseArb(o), operatorArb).chain(([use, op]) =>
    valueArb(op, o).map((value) => ({ ...use, operator: operatorName(op), value }) as FactCondition),
  );
}

/**
 * A condition on the stage: what src/ruleset/stage-index.ts reads, so the
 * stage index is exercised (valid in every mode that may read the stage).
 */
export function stageConditionArb(o: ConditionOptions): fc.Arbitrary<FactCondition> {
  const stage = fc.constantFrom<unknown>(...o.stages, 'nowhere');
  const ref = factRefArb({ ...o, valid: true });
  return fc.oneof(
    fc.record({
      fact: fc.constant('stage'),
      operator: fc.constantFrom('equal', 'notEqual', 'stageAtLeast', 'stageAtMost'),
      value: fc.oneof({ arbitrary: fc.constantFrom(...o.stages), weight: 4 }, ref),
    }, JSON_LIKE),
    fc.record({
      fact: fc.constant('stage'),
      operator: fc.constantFrom('in', 'notIn'),
      value: fc.oneof({ arbitrary: fc.uniqueArray(stage, { maxLength: 3 }), weight: 4 }, ref),
    }, JSON_LIKE),
    fc.record({
      fact: fc.constant('stageIndex'),
      operator: fc.constantFrom('equal', 'notEqual', 'lessThan', 'lessThanInclusive', 'greaterThan', 'greaterThanInclusive'),
      value: fc.oneof(
        { arbitrary: fc.integer({ min: -1, max: o.stages.length }), weight: 4 },
        fc.constantFrom(0.5, 1.5),
        ref,
      ),
    }, JSON_LIKE),
  ) as fc.Arbitrary<FactCondition>;
}

export interface ConditionArbs {
  condition: fc.Arbitrary<Condition>;
  /** A rule's or segment's root: all / any / not / segment reference. */
  root: fc.Arbitrary<BooleanCondition>;
}

export function conditionArbs(o: ConditionOptions, maxDepth = 3): ConditionArbs {
  const depthIdentifier = fc.createDepthIdentifier();
  const leaf = o.stageFacts
    ? fc.oneof({ arbitrary: factConditionArb(o), weight: 4 }, { arbitrary: stageConditionArb(o), weight: 1 })
    : factConditionArb(o);
  const reference =
    o.segmentNames.length > 0 ? [fc.constantFrom(...o.segmentNames).map((name): BooleanCondition => ({ condition: name }))] : [];
  const arbs = fc.letrec<{ condition: Condition; root: BooleanCondition }>((tie) => ({
    condition: fc.oneof({ maxDepth, depthIdentifier, depthSize: 'small' }, leaf, tie('root')),
    root: fc.oneof(
      { maxDepth, depthIdentifier, depthSize: 'small' },
      fc.record({ all: fc.array(tie('condition'), { maxLength: 4 }) }, JSON_LIKE),
      fc.record({ any: fc.array(tie('condition'), { minLength: o.valid ? 1 : 0, maxLength: 4 }) }, JSON_LIKE),
      fc.record({ not: tie('condition') }, JSON_LIKE),
      ...reference,
    ),
  }));
  return { condition: arbs.condition, root: arbs.root };
}

/**
 * Segments seg0..segN-1, each a root condition that may reference only the
 * segments before it (so never a cycle). `stageFree` segments read no stage
 * fact and reference only stage-free segments: stage rules may use those.
 */
export interface GeneratedSegment {
  name: string;
  stageFree: boolean;
  condition: BooleanCondition;
}

export function segmentsArb(o: Omit<ConditionOptions, 'segmentNames'>, maxSegments = 4): fc.Arbitrary<GeneratedSegment[]> {
  return fc.array(fc.boolean(), { maxLength: maxSegments }).chain((flags) => {
    const build = (i: number, done: GeneratedSegment[]): fc.Arbitrary<GeneratedSegment[]> => {
      if (i === flags.length) return fc.constant(done);
      const stageFree = !o.stageFacts || (flags[i] as boolean);
      const segmentNames = done.filter((s) => !stageFree || s.stageFree).map((s) => s.name);
      const { root } = conditionArbs({ ...o, stageFacts: o.stageFacts && !stageFree, segmentNames }, 2);
      return root.chain((condition) => build(i + 1, [...done, { name: `seg${i}`, stageFree, condition }]));
    };
    return build(0, []);
  });
}

// ---------------------------------------------------------------- profiles and contexts

function attributeValueArb(stages: readonly string[]): fc.Arbitrary<unknown> {
  const scalar = fc.oneof({ arbitrary: scalarArb(stages), weight: 4 }, fc.constantFrom<unknown>(...NAMES));
  return fc.oneof(
    { arbitrary: scalar, weight: 4 },
    { arbitrary: fc.array(scalar, { maxLength: 3 }), weight: 1 },
    { arbitrary: fc.record({ b: fc.oneof(scalar, fc.record({ c: scalar }, OPTIONAL_KEYS)) }, OPTIONAL_KEYS), weight: 1 },
  );
}

/** Mostly a string, sometimes anything an attribute can be. */
function nameValueArb(stages: readonly string[]): fc.Arbitrary<unknown> {
  return fc.oneof({ arbitrary: fc.constantFrom<unknown>(...NAMES), weight: 4 }, attributeValueArb(stages));
}

/** Attributes with nested objects, arrays, nulls, numbers, numeric strings, and keys missing. */
export function attributesArb(stages: readonly string[]): fc.Arbitrary<JsonObject> {
  const value = attributeValueArb(stages);
  const shape = Object.fromEntries(ATTRIBUTE_KEYS.map((k) => [k, k === 'name' ? nameValueArb(stages) : value])) as Record<
    (typeof ATTRIBUTE_KEYS)[number],
    fc.Arbitrary<unknown>
  >;
  return fc.record(shape, OPTIONAL_KEYS) as fc.Arbitrary<JsonObject>;
}

/** The request's context; `channel` a known channel, an unknown one, a non-string, or absent. */
export function contextArb(stages: readonly string[], channel: 'maybe' | 'never' = 'maybe'): fc.Arbitrary<JsonObject> {
  const value = attributeValueArb(stages);
  const channelArb = channel === 'never' ? fc.constant(undefined) : fc.option(fc.constantFrom<unknown>(...CHANNELS, 'sms', 5, null), { nil: undefined });
  return fc
    .tuple(channelArb, fc.record({ a: value, tier: value, 'k y': value, name: nameValueArb(stages), list: fc.array(scalarArb(stages), { maxLength: 3 }) }, OPTIONAL_KEYS))
    .map(([ch, rest]) => (ch === undefined ? rest : { ...rest, channel: ch }) as JsonObject);
}

/** A time within these days of NOW, to the millisecond. */
const minutesAround = (fromDays: number, toDays: number): fc.Arbitrary<number> =>
  fc
    .tuple(fc.integer({ min: (fromDays * DAY) / 60_000, max: (toDays * DAY) / 60_000 }), fc.integer({ min: 0, max: 59_999 }))
    .map(([minutes, ms]) => NOW + minutes * 60_000 + ms);

/** A touchpoint's time: anywhere in ±400 days around NOW, or exactly a `withinDays` boundary old. */
const touchpointAtArb: fc.Arbitrary<number> = fc.oneof(
  { arbitrary: minutesAround(-400, 400), weight: 4 },
  { arbitrary: minutesAround(-60, 5), weight: 2 },
  { arbitrary: fc.constantFrom(...WITHIN_DAYS, 0.5, 0).map((days) => NOW - days * DAY), weight: 1 },
);

const touchpointArb = fc.record({ type: fc.constantFrom(...TYPES), channel: fc.constantFrom(...CHANNELS), at: touchpointAtArb });

export function touchpointsArb(): fc.Arbitrary<{ type: string; channel: string; at: number }[]> {
  return fc.oneof(
    fc.constant<{ type: string; channel: string; at: number }[]>([]),
    fc.array(touchpointArb, { minLength: 1, maxLength: 8 }),
    fc.array(touchpointArb, { minLength: 1, maxLength: 80 }),
  );
}

const outcomeArb = fc.record({
  kind: fc.constantFrom<OutcomeKind>(...OUTCOME_KINDS),
  item: fc.constantFrom<string>(...OUTCOME_ITEMS),
  placement: fc.constantFrom<string>(...OUTCOME_PLACEMENTS),
  at: touchpointAtArb,
});
export type GeneratedOutcome = { kind: OutcomeKind; item: string; placement: string; at: number };

export function outcomesArb(): fc.Arbitrary<GeneratedOutcome[]> {
  return fc.oneof(
    { arbitrary: fc.constant<GeneratedOutcome[]>([]), weight: 2 },
    { arbitrary: fc.array(outcomeArb, { minLength: 1, maxLength: 6 }), weight: 3 },
    { arbitrary: fc.array(outcomeArb, { minLength: 1, maxLength: 40 }), weight: 1 },
  );
}

/** A DecisionProfile (touchpoints and outcomes newest first); `stage` null, listed, or unlisted. */
export function decisionProfileArb(stages: readonly string[], customerId: string): fc.Arbitrary<DecisionProfile> {
  return fc
    .record({
      attributes: attributesArb(stages),
      stage: fc.oneof({ arbitrary: fc.constant(null), weight: 3 }, fc.constantFrom<string | null>(...stages, 'nowhere')),
      touchpoints: touchpointsArb(),
      outcomes: outcomesArb(),
    })
    .map(({ attributes, stage, touchpoints, outcomes }) => {
      const sorted = [...touchpoints].sort((a, b) => b.at - a.at);
      const newest = [...outcomes].sort((a, b) => b.at - a.at);
      return {
        customerId,
        attributes,
        stage,
        types: sorted.map((t) => t.type),
        channels: sorted.map((t) => t.channel),
        at: Float64Array.from(sorted.map((t) => t.at)),
        outcomes:
          newest.length === 0
            ? NO_OUTCOMES
            : {
                kinds: newest.map((o) => o.kind),
                items: newest.map((o) => o.item),
                placements: newest.map((o) => o.placement),
                at: Float64Array.from(newest.map((o) => o.at)),
              },
      };
    });
}

export interface FactsInput {
  customerId: string;
  profile: DecisionProfile | null;
  context: JsonObject;
  /** undefined: a stage-rule run. 'nowhere' is an unlisted stage (its stageIndex undefined). */
  stage: string | undefined;
}

export function factsInputArb(stages: readonly string[], stageSet: boolean, valid: boolean): fc.Arbitrary<FactsInput> {
  const stageArb: fc.Arbitrary<string | undefined> = !stageSet
    ? fc.constant(undefined)
    : valid
      ? fc.constantFrom(...stages)
      : fc.oneof({ arbitrary: fc.constantFrom(...stages), weight: 5 }, fc.constant('nowhere'));
  return fc.constantFrom(...CUSTOMER_IDS).chain((customerId) =>
    fc.record({
      customerId: fc.constant(customerId),
      profile: fc.oneof({ arbitrary: decisionProfileArb(stages, customerId), weight: 5 }, fc.constant(null)),
      context: contextArb(stages),
      stage: stageArb,
    }),
  );
}

// ---------------------------------------------------------------- matcher worlds

export interface MatcherWorld {
  stages: string[];
  segments: GeneratedSegment[];
  rules: { name: string; priority: number; conditions: BooleanCondition }[];
  facts: FactsInput;
  valid: boolean;
  /** Whether the evaluators share one facts object (its memo) or each get a fresh one. */
  sharedFacts: boolean;
}

/** Rules (unique names), segments and facts, for the matchers used directly; `paths` as in ConditionOptions. */
export function matcherWorldArb(maxRules = 8, paths: 'any' | 'plain' = 'any'): fc.Arbitrary<MatcherWorld> {
  return fc.record({ stages: stagesArb, valid: fc.boolean(), stageSet: fc.oneof({ arbitrary: fc.constant(true), weight: 3 }, fc.constant(false)) }).chain(({ stages, valid, stageSet }) => {
    const base = { stages, stageFacts: stageSet, valid, paths };
    return segmentsArb(base).chain((segments) => {
      const { root } = conditionArbs({ ...base, segmentNames: segments.map((s) => s.name) });
      return fc.record({
        stages: fc.constant(stages),
        segments: fc.constant(segments),
        rules: fc
          .array(fc.tuple(root, fc.integer({ min: 1, max: 3 })), { minLength: 1, maxLength: maxRules })
          .map((list) => list.map(([conditions, priority], i) => ({ name: `r${i}`, priority, conditions }))),
        facts: factsInputArb(stages, stageSet, valid),
        valid: fc.constant(valid),
        sharedFacts: fc.boolean(),
      });
    });
  });
}

// ---------------------------------------------------------------- rules folders

export interface RulesFolder {
  stages: string[];
  /** The files, as buildRuleset reads them. */
  files: { file: string; text: string }[];
  placements: string[];
}

const isoArb = (minDays: number, maxDays: number): fc.Arbitrary<string> =>
  fc.oneof(
    fc.integer({ min: minDays * DAY, max: maxDays * DAY }).map((offset) => new Date(NOW + offset).toISOString()),
    // Exactly now: activeFrom is inclusive, activeUntil exclusive.
    fc.constant(new Date(NOW).toISOString()),
    fc.integer({ min: minDays, max: maxDays }).map((days) => new Date(NOW + days * DAY).toISOString().slice(0, 10)),
  );

/** An activity window around NOW: none, from, until, or both (from before until). */
const windowArb: fc.Arbitrary<{ activeFrom?: string; activeUntil?: string }> = fc
  .record({ activeFrom: isoArb(-10, 5), activeUntil: isoArb(-5, 10) }, { requiredKeys: [] })
  .filter((w) => w.activeFrom === undefined || w.activeUntil === undefined || Date.parse(w.activeFrom) < Date.parse(w.activeUntil));

/** A cap on an item: low maxima, so the generated outcomes reach them often. */
const capArb = fc.record(
  {
    kind: fc.constantFrom<OutcomeKind>(...OUTCOME_KINDS),
    max: fc.integer({ min: 1, max: 3 }),
    withinDays: fc.constantFrom(0.5, 1, 7, 30, 365),
    scope: fc.constantFrom('customer', 'all'),
  },
  { requiredKeys: ['kind', 'max'], noNullPrototype: true },
);

const catalogItemArb = (id: string): fc.Arbitrary<Record<string, unknown>> =>
  fc
    .record(
      {
        kind: fc.constantFrom('content', 'offer'),
        channels: fc.uniqueArray(fc.constantFrom(...CHANNELS), { maxLength: 3 }),
        title: fc.constantFrom('Hello', 'Sale'),
        window: fc.oneof({ arbitrary: fc.constant({}), weight: 2 }, windowArb),
        caps: fc.array(capArb, { maxLength: 2 }),
      },
      { requiredKeys: ['kind', 'window'] },
    )
    .map(({ window, ...item }) => ({ id, ...item, ...window }));

/**
 * A rules folder the validator accepts: a journey (stages, stage rules) or
 * none, a catalog, segments, 1-3 placements with maxItems, fallback, disabled
 * and windowed rules, tied priorities, and conditions across every fact and
 * operator (plus stage conditions the stage index reads).
 */
export function rulesFolderArb(): fc.Arbitrary<RulesFolder> {
  return fc
    .record({
      journey: fc.oneof({ arbitrary: stagesArb.map((stages) => ({ stages })), weight: 4 }, fc.constant(null)),
      itemCount: fc.integer({ min: 2, max: 8 }),
      placementCount: fc.integer({ min: 1, max: 3 }),
    })
    .chain(({ journey, itemCount, placementCount }) => {
      const stages = journey ? journey.stages : [...DEFAULT_STAGES];
      const itemIds = Array.from({ length: itemCount }, (_, i) => `i${i}`);
      const placementNames = Array.from({ length: placementCount }, (_, i) => `p${i}`);
      const o = { stages, valid: true, stageFacts: true, itemIds, placementNames };
      return segmentsArb(o, 4).chain((segments) => {
        const stageFree = segments.filter((s) => s.stageFree).map((s) => s.name);
        const stageRoot = conditionArbs({ ...o, stageFacts: false, segmentNames: stageFree }, 3).root;
        const ruleArbs = conditionArbs({ ...o, segmentNames: segments.map((s) => s.name) }, 3);
        // Placement rules often pin a stage in a top-level `all`, which is what the stage index reads.
        const placementRoot = fc.oneof(
          { arbitrary: ruleArbs.root, weight: 3 },
          {
            arbitrary: fc
              .tuple(stageConditionArb({ ...o, segmentNames: [] }), fc.array(ruleArbs.condition, { maxLength: 1 }))
              .map(([pin, more]): BooleanCondition => ({ all: [pin, ...more] })),
            weight: 3,
          },
          { arbitrary: fc.constant<BooleanCondition>({ all: [] }), weight: 1 },
        );
        const itemIdArb = fc.constantFrom(...itemIds);
        const priorityArb = fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined });
        const stageRuleArb = fc.record({ priority: priorityArb, conditions: stageRoot, stage: fc.constantFrom(...stages) });
        const stageRulesArb = fc.array(stageRuleArb, { maxLength: journey ? 4 : 0 });
        const placementArb = fc.record({
          maxItems: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
          fallback: fc.option(fc.array(itemIdArb, { maxLength: 3 }), { nil: undefined }),
          rules: fc.array(
            fc.record({
              priority: priorityArb,
              enabled: fc.option(fc.oneof({ arbitrary: fc.constant(true), weight: 1 }, { arbitrary: fc.constant(false), weight: 2 }), { nil: undefined, freq: 2 }),
              window: fc.oneof({ arbitrary: fc.constant({}), weight: 3 }, windowArb),
              conditions: placementRoot,
              items: fc.array(itemIdArb, { minLength: 1, maxLength: 4 }),
            }),
            { maxLength: 6 },
          ),
        });
        return fc
          .record({
            items: fc.tuple(...itemIds.map(catalogItemArb)),
            stageRules: stageRulesArb,
            placements: fc.tuple(...placementNames.map(() => placementArb)),
          })
          .map(({ items, stageRules, placements }): RulesFolder => {
            const files: RulesFolder['files'] = [];
            const json = (file: string, data: unknown): void => {
              files.push({ file, text: JSON.stringify(data, null, 1) });
            };
            if (journey) {
              json('journey.json', {
                stages,
                rules: stageRules.map((r, i) => ({
                  name: `stage-rule-${i}`,
                  ...(r.priority !== undefined ? { priority: r.priority } : {}),
                  conditions: r.conditions,
                  event: { type: 'stage', params: { stage: r.stage } },
                })),
              });
            }
            json('catalog.json', { items });
            if (segments.length > 0) json('segments.json', { segments: Object.fromEntries(segments.map((s) => [s.name, s.condition])) });
            const names = placementNames;
            placements.forEach((p, i) => {
              json(`placements/${names[i]}.json`, {
                placement: names[i],
                ...(p.maxItems !== undefined ? { maxItems: p.maxItems } : {}),
                ...(p.fallback !== undefined ? { fallback: p.fallback } : {}),
                rules: p.rules.map((r, j) => ({
                  name: `rule-${j}`,
                  ...(r.priority !== undefined ? { priority: r.priority } : {}),
                  ...(r.enabled !== undefined ? { enabled: r.enabled } : {}),
                  ...r.window,
                  conditions: r.conditions,
                  event: { type: 'serve', params: { items: r.items } },
                })),
              });
            });
            return { stages, files, placements: names };
          });
      });
    });
}
