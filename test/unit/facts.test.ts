/**
 * The facts of one decision (contract section 4), computed from a profile and
 * the request by createFacts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bucketOf } from '../../src/conditions/bucket.js';
import { toDecisionProfile, type DecisionProfile } from '../../src/domain/decision-profile.js';
import { createFacts } from '../../src/conditions/decision-facts.js';
import type { Profile } from '../../src/domain/profile.js';
import type { StoredTouchpoint } from '../../src/domain/touchpoint.js';
import type { OutcomeCountParams, TouchpointCountParams, TouchpointFilterParams } from '../../src/conditions/fact-catalog.js';
import type { StoredOutcome } from '../../src/domain/outcome.js';

const NOW = Date.parse('2026-05-10T12:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function tp(type: string, channel: string, ago: number): StoredTouchpoint {
  return { id: null, type, channel, at: NOW - ago, properties: null };
}

function profile(touchpoints: StoredTouchpoint[], attributes: Profile['attributes'] = {}): DecisionProfile {
  return toDecisionProfile({
    customerId: 'c-1',
    attributes,
    stage: null,
    touchpoints: [...touchpoints].sort((a, b) => b.at - a.at),
    createdAt: NOW - 400 * DAY,
    updatedAt: NOW,
  });
}

const HISTORY = [
  tp('page_view', 'web', 36 * HOUR),
  tp('page_view', 'app', 2 * DAY),
  tp('email_open', 'email', 3 * DAY),
  tp('purchase', 'store', 10 * DAY),
  tp('page_view', 'web', 40 * DAY),
];

const factsOf = (touchpoints: StoredTouchpoint[] | null, context = {}) =>
  createFacts({ customerId: 'c-1', profile: touchpoints === null ? null : profile(touchpoints), context, now: NOW });

describe('createFacts: constant facts', () => {
  it('carries the customer id, attributes and context; stage is unset until resolved', () => {
    const attributes = { tier: 'gold', address: { city: 'Oslo' } };
    const facts = createFacts({ customerId: 'c-9', profile: profile([], attributes), context: { channel: 'web' }, now: NOW });
    expect(facts.customerId).toBe('c-9');
    expect(facts.attributes).toEqual(attributes);
    expect(facts.context).toEqual({ channel: 'web' });
    expect(facts.stage).toBeUndefined();
    expect(facts.stageIndex).toBeUndefined();
  });

  it('gives a customer never seen before no attributes and no touchpoints', () => {
    const facts = factsOf(null);
    expect(facts.attributes).toEqual({});
    expect(facts.touchpointTypes).toEqual([]);
    expect(facts.channels).toEqual([]);
    expect(facts.touchpointCount({})).toBe(0);
    expect(facts.daysSinceLastTouchpoint({})).toBeNull();
  });

  it('lists the distinct types and channels seen, sorted', () => {
    const facts = factsOf(HISTORY);
    expect(facts.touchpointTypes).toEqual(['email_open', 'page_view', 'purchase']);
    expect(facts.channels).toEqual(['app', 'email', 'store', 'web']);
  });

  it('lists them, and counts by type and channel, as a plain walk of the columns does, whether or not the names are one string each', () => {
    const names = ['a', 'b', 'page_view', 'web', 'email'];
    // Strings made afresh (not the intern table's instances), as a decision profile built by hand may hold.
    const fresh = (name: string): string => [...name].join('');
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...names), fc.constantFrom(...names), fc.integer({ min: 0, max: 5 * DAY })), { maxLength: 40 }), (rows) => {
        const sorted = [...rows].sort((x, y) => x[2] - y[2]);
        const decisionProfile: DecisionProfile = {
          customerId: 'c-1',
          attributes: {},
          stage: null,
          types: sorted.map(([type]) => fresh(type)),
          channels: sorted.map(([, channel]) => fresh(channel)),
          at: Float64Array.from(sorted.map(([, , ago]) => NOW - ago)),
          outcomes: profile([]).outcomes,
        };
        const facts = createFacts({ customerId: 'c-1', profile: decisionProfile, context: {}, now: NOW });
        expect(facts.touchpointTypes).toEqual([...new Set(rows.map(([type]) => type))].sort());
        expect(facts.channels).toEqual([...new Set(rows.map(([, channel]) => channel))].sort());
        for (const name of names) {
          expect(facts.touchpointCount({ type: name }), `type ${name}`).toBe(rows.filter(([type]) => type === name).length);
          expect(facts.touchpointCount({ channel: name, withinDays: 2 }), `channel ${name}`).toBe(rows.filter(([, channel, ago]) => channel === name && ago <= 2 * DAY).length);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('gives profiles whose times are views on one array (read for one pass) the facts of profiles with their own, decided in any order', () => {
    const names = ['a', 'b', 'page_view', 'web'];
    const rowsOf = fc.array(fc.tuple(fc.constantFrom(...names), fc.constantFrom(...names), fc.integer({ min: 0, max: 5 * DAY })), { maxLength: 30 });
    fc.assert(
      fc.property(fc.array(rowsOf, { minLength: 1, maxLength: 12 }), (groups) => {
        const shared = new Float64Array(groups.reduce((sum, rows) => sum + rows.length, 0) + 1);
        let offset = 1;
        const pairs = groups.map((rows, i) => {
          const sorted = [...rows].sort((x, y) => x[2] - y[2]);
          const at = Float64Array.from(sorted.map(([, , ago]) => NOW - ago));
          const view = shared.subarray(offset, offset + at.length);
          view.set(at);
          offset += at.length;
          const base = { customerId: `c-${i}`, attributes: {}, stage: null, types: sorted.map(([type]) => type), channels: sorted.map(([, channel]) => channel), outcomes: profile([]).outcomes };
          return [{ ...base, at }, { ...base, at: view }] as const;
        });
        const factsOf = (p: DecisionProfile) => createFacts({ customerId: p.customerId, profile: p, context: {}, now: NOW });
        const answers = (facts: ReturnType<typeof factsOf>) =>
          names.flatMap((name) => [facts.touchpointCount({ type: name }), facts.touchpointCount({ type: [name, 'a'], channel: 'web', withinDays: 2 }), facts.daysSinceLastTouchpoint({ type: name })]);
        // Every index built first, then read: one built later must not have written over one built before.
        const ownFacts = pairs.map(([own]) => factsOf(own));
        const sharedFacts = pairs.map(([, view]) => factsOf(view));
        for (const facts of [...sharedFacts].reverse()) facts.touchpointTypes;
        pairs.forEach((_, i) => expect(answers(sharedFacts[i] as ReturnType<typeof factsOf>), `profile ${i}`).toEqual(answers(ownFacts[i] as ReturnType<typeof factsOf>)));
      }),
      { numRuns: 200 },
    );
  });

  it('does not depend on the order touchpoints are stored in', () => {
    const shuffled = createFacts({
      customerId: 'c-1',
      profile: toDecisionProfile({
        customerId: 'c-1',
        attributes: {},
        stage: null,
        touchpoints: [HISTORY[3], HISTORY[0], HISTORY[4], HISTORY[1], HISTORY[2]] as StoredTouchpoint[],
        createdAt: NOW,
        updatedAt: NOW,
      }),
      context: {},
      now: NOW,
    });
    expect(shuffled.touchpointTypes).toEqual(['email_open', 'page_view', 'purchase']);
    expect(shuffled.daysSinceLastTouchpoint({})).toBe(1.5);
    expect(shuffled.daysSinceLastTouchpoint({ type: 'page_view' })).toBe(1.5);
  });
});

describe('createFacts: touchpointCount', () => {
  const facts = factsOf(HISTORY);

  it.each([
    [{}, 5],
    [{ type: 'page_view' }, 3],
    [{ type: ['page_view', 'purchase'] }, 4],
    [{ type: 'refund' }, 0],
    [{ channel: 'web' }, 2],
    [{ channel: ['web', 'app'] }, 3],
    [{ type: 'page_view', channel: 'app' }, 1],
    [{ type: 'page_view', channel: ['email', 'store'] }, 0],
    [{ withinDays: 7 }, 3],
    [{ withinDays: 1.5 }, 1],
    [{ withinDays: 1.4 }, 0],
    [{ withinDays: 10 }, 4],
    [{ withinDays: 9.999 }, 3],
    [{ withinDays: 365 }, 5],
    [{ type: 'page_view', channel: 'web', withinDays: 30 }, 1],
  ] satisfies Array<[TouchpointCountParams, number]>)('%j counts %i', (params, expected) => {
    expect(facts.touchpointCount(params)).toBe(expected);
  });

  it('counts a touchpoint exactly withinDays old as within', () => {
    const exact = factsOf([tp('purchase', 'web', 10 * DAY)]);
    expect(exact.touchpointCount({ withinDays: 10 })).toBe(1);
    const older = factsOf([tp('purchase', 'web', 10 * DAY + 1)]);
    expect(older.touchpointCount({ withinDays: 10 })).toBe(0);
  });

  it('counts repeated touchpoints each time', () => {
    expect(factsOf([tp('page_view', 'web', HOUR), tp('page_view', 'web', HOUR), tp('page_view', 'web', 2 * HOUR)]).touchpointCount({})).toBe(3);
  });
});

describe('createFacts: daysSinceLastTouchpoint', () => {
  const facts = factsOf(HISTORY);

  it.each([
    [{}, 1.5],
    [{ type: 'page_view' }, 1.5],
    [{ type: 'page_view', channel: 'app' }, 2],
    [{ channel: 'email' }, 3],
    [{ type: ['purchase', 'email_open'] }, 3],
    [{ channel: ['store'] }, 10],
  ] satisfies Array<[TouchpointFilterParams, number]>)('%j is %d days', (params, expected) => {
    expect(facts.daysSinceLastTouchpoint(params)).toBe(expected);
  });

  it('is null when nothing matches', () => {
    expect(facts.daysSinceLastTouchpoint({ type: 'refund' })).toBeNull();
    expect(facts.daysSinceLastTouchpoint({ type: 'purchase', channel: 'web' })).toBeNull();
  });

  it('is fractional', () => {
    expect(factsOf([tp('x', 'web', 6 * HOUR)]).daysSinceLastTouchpoint({})).toBe(0.25);
    expect(factsOf([tp('x', 'web', 90 * 60_000)]).daysSinceLastTouchpoint({})).toBeCloseTo(1 / 16, 12);
    expect(factsOf([tp('x', 'web', 0)]).daysSinceLastTouchpoint({})).toBe(0);
  });

  it('is never negative for a touchpoint slightly in the future (allowed clock skew)', () => {
    expect(factsOf([tp('x', 'web', -2 * 60_000)]).daysSinceLastTouchpoint({})).toBe(0);
  });
});

describe('createFacts: bucket', () => {
  it('is bucketOf(customerId, salt)', () => {
    const facts = factsOf(null);
    expect(facts.bucket({ salt: 'exp-a' })).toBe(bucketOf('c-1', 'exp-a'));
    expect(facts.bucket({ salt: 'exp-b' })).toBe(bucketOf('c-1', 'exp-b'));
  });
});

describe('createFacts: touchpoints in any order', () => {
  // Stores answer newest first, and the facts stop early when they are; a profile in another order
  // (or with a time that is not a number) must give the same answers, the long way.
  const params: Array<TouchpointCountParams & TouchpointFilterParams> = [
    {},
    { type: 'page_view' },
    { withinDays: 7 },
    { withinDays: 1.5 },
    { type: 'page_view', channel: 'web', withinDays: 30 },
    { type: ['page_view', 'purchase'], withinDays: 365 },
    { channel: 'store' },
  ];
  const inOrder = profile(HISTORY);
  const shuffled = (order: number[]): DecisionProfile => ({
    ...inOrder,
    types: order.map((i) => inOrder.types[i] as string),
    channels: order.map((i) => inOrder.channels[i] as string),
    at: Float64Array.from(order.map((i) => inOrder.at[i] as number)),
  });
  const answers = (p: DecisionProfile) => {
    const facts = createFacts({ customerId: 'c-1', profile: p, context: {}, now: NOW });
    return params.map((q) => [facts.touchpointCount(q), facts.daysSinceLastTouchpoint(q)]);
  };

  it.each([[[4, 3, 2, 1, 0]], [[2, 0, 4, 1, 3]], [[0, 1, 2, 4, 3]]])('order %j answers as newest first', (order) => {
    expect(answers(shuffled(order))).toEqual(answers(inOrder));
  });

  it('does not stop early on a profile with a time that is not a number', () => {
    const withNaN: DecisionProfile = { ...inOrder, at: Float64Array.from([NaN, ...[...inOrder.at].slice(1)]) };
    const facts = createFacts({ customerId: 'c-1', profile: withNaN, context: {}, now: NOW });
    // The first touchpoint (36 hours ago) has no time; the other four count as before.
    expect(facts.touchpointCount({})).toBe(4);
    expect(facts.touchpointCount({ withinDays: 7 })).toBe(2);
    expect(facts.daysSinceLastTouchpoint({})).toBe(2);
  });
});

describe('createFacts: memoisation by parameters', () => {
  it('keeps the results of different params apart, in any call order', () => {
    const facts = factsOf(HISTORY);
    const calls: Array<[TouchpointCountParams, number]> = [
      [{ type: 'page_view' }, 3],
      [{ type: 'page_view', withinDays: 7 }, 2],
      [{ channel: 'page_view' }, 0],
      [{ type: ['page_view'] }, 3],
      [{ type: 'page_view', channel: 'web' }, 2],
      [{ type: 'page_view', channel: 'web', withinDays: 30 }, 1],
      [{}, 5],
      [{ withinDays: 7 }, 3],
      [{ type: ['page_view', 'purchase'] }, 4],
      [{ type: ['purchase', 'page_view'] }, 4],
    ];
    for (const round of [calls, [...calls].reverse(), calls]) {
      for (const [params, expected] of round) expect(facts.touchpointCount(params), JSON.stringify(params)).toBe(expected);
    }
  });

  it('does not mix up a list of types with a list of channels holding the same names', () => {
    const facts = factsOf([tp('web', 'email', HOUR), tp('email', 'web', 2 * HOUR), tp('email', 'web', 3 * HOUR)]);
    expect(facts.touchpointCount({ type: 'web' })).toBe(1);
    expect(facts.touchpointCount({ channel: 'web' })).toBe(2);
    expect(facts.touchpointCount({ type: ['web', 'email'] })).toBe(3);
    expect(facts.touchpointCount({ channel: ['web'] })).toBe(2);
    expect(facts.daysSinceLastTouchpoint({ type: 'web' })).toBeCloseTo(1 / 24, 12);
    expect(facts.daysSinceLastTouchpoint({ channel: 'email' })).toBeCloseTo(1 / 24, 12);
    expect(facts.daysSinceLastTouchpoint({ channel: 'web' })).toBeCloseTo(2 / 24, 12);
  });

  it('keeps recency and count apart for the same params', () => {
    const facts = factsOf(HISTORY);
    expect(facts.touchpointCount({ type: 'purchase' })).toBe(1);
    expect(facts.daysSinceLastTouchpoint({ type: 'purchase' })).toBe(10);
    expect(facts.touchpointCount({ type: 'purchase' })).toBe(1);
  });

  it('keeps buckets of different salts apart', () => {
    const facts = createFacts({ customerId: 'memo-customer', profile: null, context: {}, now: NOW });
    const salts = Array.from({ length: 20 }, (_, i) => `salt-${i}`);
    const first = salts.map((salt) => facts.bucket({ salt }));
    const second = [...salts].reverse().map((salt) => facts.bucket({ salt })).reverse();
    expect(second).toEqual(first);
    expect(first).toEqual(salts.map((salt) => bucketOf('memo-customer', salt)));
    expect(new Set(first).size).toBeGreaterThan(1);
  });

  it('is per decision: another decision over the same profile at a later time counts afresh', () => {
    const earlier = factsOf(HISTORY);
    expect(earlier.touchpointCount({ withinDays: 3 })).toBe(3);
    const later = createFacts({ customerId: 'c-1', profile: profile(HISTORY), context: {}, now: NOW + DAY });
    expect(later.touchpointCount({ withinDays: 3 })).toBe(2);
    expect(later.daysSinceLastTouchpoint({})).toBe(2.5);
  });
});

describe('createFacts: outcomeCount', () => {
  function oc(kind: StoredOutcome['kind'], item: string, placement: string, ago: number): StoredOutcome {
    return { decisionId: `d-${ago}`, placement, item, rule: null, arm: null, kind, at: NOW - ago, value: null };
  }
  const OUTCOMES = [
    oc('impression', 'hero-a', 'home-hero', 1 * HOUR),
    oc('click', 'hero-a', 'home-hero', 2 * HOUR),
    oc('impression', 'hero-a', 'home-hero', 3 * DAY),
    oc('impression', 'offer-x', 'email-offers', 7 * DAY),
    oc('conversion', 'offer-x', 'email-offers', 20 * DAY),
    oc('impression', 'hero-a', 'app-hero', 30 * DAY),
  ];
  const withOutcomes = (outcomes: StoredOutcome[]) =>
    createFacts({
      customerId: 'c-1',
      profile: toDecisionProfile({ customerId: 'c-1', attributes: {}, stage: null, touchpoints: [], outcomes, createdAt: NOW - DAY, updatedAt: NOW }),
      context: {},
      now: NOW,
    });

  it.each<[OutcomeCountParams, number]>([
    [{}, 6],
    [{ kind: 'impression' }, 4],
    [{ kind: ['click', 'conversion'] }, 2],
    [{ item: 'hero-a' }, 4],
    [{ item: ['hero-a', 'offer-x'], kind: 'impression' }, 4],
    [{ placement: 'email-offers' }, 2],
    [{ placement: ['home-hero', 'app-hero'], kind: 'impression' }, 3],
    [{ kind: 'impression', withinDays: 7 }, 3],
    [{ kind: 'impression', withinDays: 6.9 }, 2],
    [{ item: 'hero-a', kind: 'impression', placement: 'home-hero', withinDays: 1 }, 1],
    [{ kind: 'dismiss' }, 0],
    [{ item: 'nothing' }, 0],
    [{ item: ['hero-a', 'hero-a'], kind: 'impression' }, 3],
    [{ item: ['offer-x', 'hero-a', 'nothing'], withinDays: 7 }, 4],
    [{ item: 'hero-a', placement: 'app-hero' }, 1],
  ])('%j counts %d', (params, expected) => {
    expect(withOutcomes(OUTCOMES).outcomeCount(params)).toBe(expected);
    // In whatever order the store kept them.
    expect(withOutcomes([...OUTCOMES].reverse()).outcomeCount(params)).toBe(expected);
  });

  it('is 0 for a customer without outcomes or never seen', () => {
    expect(factsOf(HISTORY).outcomeCount({})).toBe(0);
    expect(factsOf(null).outcomeCount({ kind: 'click' })).toBe(0);
  });

  it('counts an outcome exactly withinDays old as within, and the touchpoints not at all', () => {
    const facts = withOutcomes([oc('click', 'hero-a', 'home-hero', 7 * DAY)]);
    expect(facts.outcomeCount({ withinDays: 7 })).toBe(1);
    expect(facts.touchpointCount({})).toBe(0);
  });

  it('counts for caps (itemOutcomeCount) what the fact counts for one item and kind', () => {
    const kinds = ['impression', 'click', 'conversion', 'dismiss'] as const;
    for (const outcomes of [OUTCOMES, [...OUTCOMES].reverse(), [OUTCOMES[2], OUTCOMES[0], OUTCOMES[5], OUTCOMES[1]] as StoredOutcome[]]) {
      const facts = withOutcomes(outcomes);
      for (const item of ['hero-a', 'offer-x', 'nothing'])
        for (const kind of kinds)
          for (const withinDays of [null, 0.01, 1, 3, 7, 30, 365]) {
            const fact = facts.outcomeCount(withinDays === null ? { item, kind } : { item, kind, withinDays });
            expect(facts.itemOutcomeCount(item, kind, withinDays), `${item} ${kind} ${withinDays}`).toBe(fact);
          }
    }
    expect(withOutcomes(OUTCOMES).itemOutcomeCount('hero-a', 'impression', 7)).toBe(2);
    expect(factsOf(null).itemOutcomeCount('hero-a', 'impression', null)).toBe(0);
  });

  it('memoises by params object, keeping different params apart', () => {
    const facts = withOutcomes(OUTCOMES);
    const clicks = { kind: 'click' as const };
    const impressions = { kind: 'impression' as const };
    expect([facts.outcomeCount(clicks), facts.outcomeCount(impressions), facts.outcomeCount(clicks)]).toEqual([1, 4, 1]);
    expect(facts.touchpointCount(clicks as TouchpointCountParams)).toBe(0);
  });
});
