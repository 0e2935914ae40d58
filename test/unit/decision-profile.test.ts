import { describe, expect, it } from 'vitest';
import { intern, NO_OUTCOMES, toDecisionProfile } from '../../src/domain/decision-profile.js';
import type { StoredOutcome } from '../../src/domain/outcome.js';
import type { Profile } from '../../src/domain/profile.js';
import type { StoredTouchpoint } from '../../src/domain/touchpoint.js';

const T0 = Date.UTC(2026, 0, 15);

function profile(touchpoints: StoredTouchpoint[], overrides: Partial<Profile> = {}): Profile {
  return { customerId: 'c1', attributes: { tier: 'gold', prefs: { email: true } }, stage: 'purchase', touchpoints, createdAt: T0, updatedAt: T0, ...overrides };
}

function touchpoint(type: string, channel: string, at: number): StoredTouchpoint {
  return { id: `${type}-${at}`, type, channel, at, properties: { sku: 'A-1' } };
}

/** A string equal to `value` but built at run time, so it is not the literal's instance. */
function freshCopy(value: string): string {
  return JSON.parse(JSON.stringify(value)) as string;
}

describe('toDecisionProfile', () => {
  it('keeps the touchpoints as parallel columns, in the profile order (newest first)', () => {
    const decision = toDecisionProfile(
      profile([touchpoint('cart_add', 'web', T0), touchpoint('email_click', 'email', T0 - 1000), touchpoint('page_view', 'app', T0 - 2000)]),
    );
    expect(decision.types).toEqual(['cart_add', 'email_click', 'page_view']);
    expect(decision.channels).toEqual(['web', 'email', 'app']);
    expect(decision.at).toBeInstanceOf(Float64Array);
    expect([...decision.at]).toEqual([T0, T0 - 1000, T0 - 2000]);
  });

  it('carries the customer id, attributes and explicit stage, and nothing of ids or properties', () => {
    const source = profile([touchpoint('cart_add', 'web', T0)]);
    const decision = toDecisionProfile(source);
    expect(decision.customerId).toBe('c1');
    expect(decision.attributes).toEqual({ tier: 'gold', prefs: { email: true } });
    expect(decision.stage).toBe('purchase');
    expect(Object.keys(decision).sort()).toEqual(['at', 'attributes', 'channels', 'customerId', 'outcomes', 'stage', 'types']);
    expect(toDecisionProfile(profile([], { stage: null })).stage).toBeNull();
  });

  it('keeps a millisecond time exactly', () => {
    const at = Date.UTC(2026, 0, 15, 12, 34, 56, 789);
    expect(toDecisionProfile(profile([touchpoint('page_view', 'web', at)])).at[0]).toBe(at);
  });

  it('interns types and channels: equal slugs of different profiles are one string instance', () => {
    const first = toDecisionProfile(profile([touchpoint(freshCopy('interned_type'), freshCopy('interned_channel'), T0)]));
    const second = toDecisionProfile(
      profile([touchpoint(freshCopy('interned_type'), freshCopy('interned_channel'), T0), touchpoint(freshCopy('interned_type'), 'web', T0 - 1)], {
        customerId: 'c2',
      }),
    );
    expect(second.types[0]).toBe(first.types[0]);
    expect(second.types[1]).toBe(first.types[0]);
    expect(second.channels[0]).toBe(first.channels[0]);
    expect(intern(freshCopy('interned_type'))).toBe(first.types[0]);
  });

  it('gives empty columns for a profile without touchpoints', () => {
    const decision = toDecisionProfile(profile([]));
    expect(decision.types).toEqual([]);
    expect(decision.channels).toEqual([]);
    expect(decision.at).toBeInstanceOf(Float64Array);
    expect(decision.at).toHaveLength(0);
  });
});

function outcome(kind: StoredOutcome['kind'], item: string, placement: string, at: number): StoredOutcome {
  return { decisionId: `d-${at}`, placement, item, rule: 'some-rule', arm: null, kind, at, value: kind === 'conversion' ? 19.9 : null };
}

describe('toDecisionProfile: outcomes', () => {
  it('keeps the outcomes as parallel columns, newest first whatever the order given', () => {
    const decision = toDecisionProfile(
      profile([], {
        outcomes: [
          outcome('click', 'hero-a', 'home-hero', T0 - 2000),
          outcome('impression', 'hero-a', 'home-hero', T0 - 3000),
          outcome('conversion', 'offer-x', 'email-offers', T0),
        ],
      }),
    );
    expect(decision.outcomes.kinds).toEqual(['conversion', 'click', 'impression']);
    expect(decision.outcomes.items).toEqual(['offer-x', 'hero-a', 'hero-a']);
    expect(decision.outcomes.placements).toEqual(['email-offers', 'home-hero', 'home-hero']);
    expect(decision.outcomes.at).toBeInstanceOf(Float64Array);
    expect([...decision.outcomes.at]).toEqual([T0, T0 - 2000, T0 - 3000]);
    expect(Object.keys(decision.outcomes).sort()).toEqual(['at', 'items', 'kinds', 'placements']);
  });

  it('shares one empty value between every customer without outcomes (no allocation per profile)', () => {
    expect(toDecisionProfile(profile([])).outcomes).toBe(NO_OUTCOMES);
    expect(toDecisionProfile(profile([], { outcomes: [] })).outcomes).toBe(NO_OUTCOMES);
    expect(NO_OUTCOMES.kinds).toEqual([]);
    expect(NO_OUTCOMES.at).toHaveLength(0);
    expect(Object.isFrozen(NO_OUTCOMES)).toBe(true);
    expect(Object.isFrozen(NO_OUTCOMES.items)).toBe(true);
  });

  it('interns items and placements, and keeps kinds as the shared kind strings', () => {
    const first = toDecisionProfile(profile([], { outcomes: [outcome(freshCopy('click') as 'click', freshCopy('interned-item'), freshCopy('interned_place'), T0)] }));
    const second = toDecisionProfile(profile([], { outcomes: [outcome(freshCopy('click') as 'click', freshCopy('interned-item'), freshCopy('interned_place'), T0)] }));
    expect(second.outcomes.items[0]).toBe(first.outcomes.items[0]);
    expect(second.outcomes.placements[0]).toBe(first.outcomes.placements[0]);
    expect(second.outcomes.kinds[0]).toBe(first.outcomes.kinds[0]);
  });
});
