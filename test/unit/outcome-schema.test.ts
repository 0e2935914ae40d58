import { describe, expect, it } from 'vitest';
import { MAX_OUTCOMES_PER_REQUEST, OUTCOME_KINDS, outcomeBatchSchema, outcomeInputSchema } from '../../src/domain/outcome.js';

const valid = { decisionId: 'd-1', customerId: 'c-42', placement: 'home-hero', item: 'hero-cart', kind: 'click' };

function errorPaths(result: { success: boolean; error?: { issues: { path: PropertyKey[] }[] } }): string[] {
  return (result.error?.issues ?? []).map((issue) => issue.path.join('.'));
}

describe('outcome as a client sends it', () => {
  it('takes the four kinds, an optional `at` with an offset and an optional value of 0 or more', () => {
    expect(OUTCOME_KINDS).toEqual(['impression', 'click', 'conversion', 'dismiss']);
    for (const kind of OUTCOME_KINDS) expect(outcomeInputSchema.safeParse({ ...valid, kind }).success).toBe(true);
    expect(outcomeInputSchema.safeParse({ ...valid, kind: 'conversion', at: '2026-01-31T12:00:00+01:00', value: 0 }).success).toBe(true);
    expect(outcomeInputSchema.parse({ ...valid, value: 59.9 }).value).toBe(59.9);
  });

  it('refuses what a touchpoint would refuse, naming the field', () => {
    expect(errorPaths(outcomeInputSchema.safeParse({ ...valid, kind: 'purchase' }))).toEqual(['kind']);
    expect(errorPaths(outcomeInputSchema.safeParse({ ...valid, at: '2026-01-31T12:00:00' }))).toEqual(['at']);
    expect(errorPaths(outcomeInputSchema.safeParse({ ...valid, value: -1 }))).toEqual(['value']);
    expect(errorPaths(outcomeInputSchema.safeParse({ ...valid, item: 'has space' }))).toEqual(['item']);
    expect(errorPaths(outcomeInputSchema.safeParse({ ...valid, placement: 'Home' }))).toEqual(['placement']);
    expect(errorPaths(outcomeInputSchema.safeParse({ ...valid, decisionId: '' }))).toEqual(['decisionId']);
    expect(errorPaths(outcomeInputSchema.safeParse({ ...valid, extra: 1 }))).toEqual(['']);
    const { customerId: _, ...withoutCustomer } = valid;
    expect(errorPaths(outcomeInputSchema.safeParse(withoutCustomer))).toEqual(['customerId']);
  });

  it('batches 1 to 1000 outcomes', () => {
    expect(outcomeBatchSchema.safeParse({ outcomes: [valid] }).success).toBe(true);
    expect(outcomeBatchSchema.safeParse({ outcomes: [] }).success).toBe(false);
    expect(outcomeBatchSchema.safeParse({ outcomes: Array.from({ length: MAX_OUTCOMES_PER_REQUEST + 1 }, () => valid) }).success).toBe(false);
    expect(errorPaths(outcomeBatchSchema.safeParse({ outcomes: [valid, { ...valid, kind: 'x' }] }))).toEqual(['outcomes.1.kind']);
  });
});
