/**
 * readDecisionRequest, the hand-written reading of a decision request's
 * common shape, against decisionRequestSchema itself: on any value JSON.parse
 * makes, it takes exactly what the schema takes, and reads it the same.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decisionRequestSchema, MAX_PLACEMENTS_PER_REQUEST, readDecisionRequest } from '../../src/domain/decision.js';

const slug = fc.stringMatching(/^[a-z][a-z0-9_.-]{0,63}$/);
const customerId = fc.oneof(fc.stringMatching(/^[A-Za-z0-9._:@-]{1,128}$/), fc.string({ maxLength: 140 }), fc.constant(''), fc.constant('x'.repeat(129)), fc.integer());
const placements = fc.oneof(
  fc.array(slug, { minLength: 1, maxLength: MAX_PLACEMENTS_PER_REQUEST }),
  fc.array(slug, { minLength: MAX_PLACEMENTS_PER_REQUEST - 1, maxLength: MAX_PLACEMENTS_PER_REQUEST + 2 }),
  fc.array(fc.oneof(slug, fc.string(), fc.constant('Home-Hero'), fc.integer()), { maxLength: MAX_PLACEMENTS_PER_REQUEST + 2 }),
  fc.constant('home-hero'),
  fc.constant(null),
);
/** Stands for a number too large for a double: JSON.parse makes it Infinity, which the schema refuses. */
const HUGE = '__huge_number__';
const contextValue = fc.oneof({ weight: 6, arbitrary: fc.jsonValue() }, { weight: 1, arbitrary: fc.constant(HUGE) }, { weight: 1, arbitrary: fc.array(fc.constant(HUGE), { maxLength: 2 }) });
const context = fc.oneof(fc.constant(undefined), fc.dictionary(fc.string(), contextValue, { maxKeys: 5 }), fc.array(fc.jsonValue(), { maxLength: 3 }), fc.constant(null), fc.string(), fc.constant(HUGE));
const explain = fc.oneof(fc.constant(undefined), fc.boolean(), fc.constant('true'), fc.constant(1));
const extra = fc.oneof(fc.constant({}), fc.dictionary(fc.oneof(fc.string(), fc.constant('customerid'), fc.constant('__proto__')), fc.jsonValue(), { maxKeys: 2 }));

const request = fc.record(
  { customerId, placements, context, explain, extra },
  { requiredKeys: [] },
).map(({ extra: more, ...fields }) => ({ ...more, ...fields }));

/** As the request arrives: through JSON (undefined fields gone, `__proto__` an own key, 1e999 Infinity). */
const asParsed = (value: unknown): unknown => JSON.parse(JSON.stringify(value).replaceAll(`"${HUGE}"`, '-1e999'));

describe('readDecisionRequest', () => {
  it('takes exactly what decisionRequestSchema takes, and reads it the same', () => {
    fc.assert(
      fc.property(fc.oneof({ weight: 8, arbitrary: request }, { weight: 1, arbitrary: fc.jsonValue() }), (value) => {
        const raw = asParsed(value);
        const byHand = readDecisionRequest(raw);
        const bySchema = decisionRequestSchema.safeParse(raw);
        expect(byHand !== null, JSON.stringify(raw)).toBe(bySchema.success);
        if (byHand !== null && bySchema.success) expect(byHand).toEqual(bySchema.data);
      }),
      { numRuns: 5000 },
    );
  });

  it('reads the common request, and leaves a key the schema does not know to the schema', () => {
    const raw = asParsed({ customerId: 'c-42', placements: ['home-hero', 'sidebar'], context: { channel: 'email', n: [1, { a: null }] }, explain: true });
    expect(readDecisionRequest(raw)).toEqual({ customerId: 'c-42', placements: ['home-hero', 'sidebar'], context: { channel: 'email', n: [1, { a: null }] }, explain: true });
    expect(readDecisionRequest(JSON.parse('{"customerId":"c-42","placements":["home-hero"],"__proto__":{}}'))).toBeNull();
    expect(readDecisionRequest({ customerId: 'c-42', placements: ['home-hero'], placement: 'x' })).toBeNull();
  });
});
