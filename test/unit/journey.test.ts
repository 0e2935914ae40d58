import { describe, expect, it } from 'vitest';
import { toDecisionProfile, type DecisionProfile } from '../../src/domain/decision-profile.js';
import { journeyDaysSchema } from '../../src/domain/journey.js';
import { asAt } from '../../src/reports/journey.js';

const DAY = 24 * 60 * 60 * 1000;
const NOW = Date.UTC(2026, 5, 1);

function profile(daysAgo: number[], stage: string | null = null): DecisionProfile {
  return toDecisionProfile({
    customerId: 'c-1',
    attributes: { tier: 'gold' },
    stage,
    touchpoints: daysAgo.map((d, i) => ({ id: null, type: `t${i}`, channel: 'web', at: NOW - d * DAY, properties: null })),
    createdAt: NOW,
    updatedAt: NOW,
  });
}

describe('asAt: a profile as it stood at a moment', () => {
  it('keeps only the touchpoints up to then, newest first, and drops the explicit stage', () => {
    const past = asAt(profile([1, 10, 30, 40], 'advocacy'), NOW - 30 * DAY);
    expect(past?.types).toEqual(['t2', 't3']);
    expect([...(past?.at ?? [])]).toEqual([NOW - 30 * DAY, NOW - 40 * DAY]);
    expect(past?.stage).toBeNull();
    expect(past?.attributes).toEqual({ tier: 'gold' });
  });

  it('is null for a customer with nothing by then (the first stage)', () => {
    expect(asAt(profile([1, 5]), NOW - 30 * DAY)).toBeNull();
    expect(asAt(profile([]), NOW - DAY)).toBeNull();
  });

  it('keeps everything when everything happened before then', () => {
    const past = asAt(profile([50, 60]), NOW - 30 * DAY);
    expect(past?.types).toEqual(['t0', 't1']);
  });
});

describe('journeyDaysSchema', () => {
  it.each([
    [undefined, 30],
    ['1', 1],
    ['365', 365],
    ['007', 7],
  ])('reads %s as %s', (raw, days) => {
    expect(journeyDaysSchema.parse(raw)).toBe(days);
  });

  it.each(['0', '366', '1.5', 'x', '', ' 3', '-1', '1e2', '9999'])('refuses %j', (raw) => {
    expect(journeyDaysSchema.safeParse(raw).success).toBe(false);
  });
});
