/**
 * Property-based fuzzing of every endpoint, in process on the memory store:
 * whatever the body, path segment or query string, the service never answers
 * a 5xx, every 4xx is a complete problem+json and every 2xx is JSON, and no
 * body can leak a key onto Object.prototype.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, prototypeIsClean, type Harness } from './harness.js';

const RUNS = 200;
const PLACEMENTS = ['home-hero', 'sidebar', 'email-banner'];

let h: Harness;
beforeAll(async () => {
  h = await createHarness({ store: 'memory' });
  // A customer that exists, so GET/DELETE/decisions also reach their 2xx paths.
  await h.request('PATCH', '/v1/customers/known', { attributes: { tier: 'gold' } });
});
afterAll(async () => {
  await h.close();
});

/** Checks the shape every answer must have and returns the status. */
async function checkAnswer(res: Response, what: string): Promise<number> {
  const text = await res.text();
  const type = res.headers.get('content-type') ?? '';
  const where = `${what} -> ${res.status} ${type}: ${text.slice(0, 300)}`;
  if (res.status >= 500) throw new Error(`5xx for bad input: ${where}`);
  if (res.status >= 400) {
    if (!type.startsWith('application/problem+json')) throw new Error(`4xx without problem+json: ${where}`);
    const body = JSON.parse(text) as Record<string, unknown>;
    for (const field of ['type', 'title', 'detail'] as const) {
      if (typeof body[field] !== 'string' || body[field] === '') throw new Error(`problem lacks "${field}": ${where}`);
    }
    if (body.status !== res.status) throw new Error(`problem.status differs from the HTTP status: ${where}`);
  } else if (res.status >= 200 && res.status < 300 && res.status !== 204) {
    if (!type.startsWith('application/json')) throw new Error(`2xx that is not JSON: ${where}`);
    JSON.parse(text);
  }
  return res.status;
}

async function send(method: string, url: string, body?: string): Promise<number> {
  const init: RequestInit = { method };
  if (body !== undefined) {
    init.body = body;
    init.headers = { 'content-type': 'application/json' };
  }
  const res = await h.app.request(url, init);
  return checkAnswer(res, `${method} ${url} ${body === undefined ? '' : body.slice(0, 200)}`);
}

// ---- arbitraries -------------------------------------------------------------

/** Any JSON value, text and all kinds of unicode included. */
const anyJson = fc.jsonValue({ maxDepth: 4 });

const hugeString = fc.integer({ min: 5_000, max: 300_000 }).map((n) => 'x'.repeat(n));
const unicodeString = fc.string({ unit: 'binary', maxLength: 60 });
const weirdScalar = fc.oneof(
  unicodeString,
  fc.constantFrom('', ' ', '\u0000', '\ud800', '😀', 'ＡＢＣ', 'home-hero', 'HOME-HERO', '2026-01-31T12:00:00Z', 'not-a-date', '__proto__'),
  fc.double(),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
);
const wrongValue = fc.oneof({ maxDepth: 3 }, weirdScalar, hugeString, anyJson, fc.array(weirdScalar, { maxLength: 30 }), fc.dictionary(unicodeString, weirdScalar, { maxKeys: 5 }));

/** Nested arrays/objects from 1 to beyond the 64-level limit, as raw JSON text. */
const deepJson = fc.tuple(fc.integer({ min: 1, max: 90 }), fc.boolean()).map(([depth, arrays]) =>
  arrays ? `${'['.repeat(depth)}1${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`,
);

/** Prototype-reaching keys, written as raw JSON so `__proto__` really is an own key of the parsed body. */
const pollutingJson = fc
  .tuple(fc.constantFrom('__proto__', 'constructor', 'prototype'), fc.constantFrom('attributes', 'context', 'properties', 'touchpoints', 'requests', ''))
  .map(([key, under]) => {
    const evil = `{"${key}":{"polluted":true,"isAdmin":true,"prototype":{"polluted":true}}}`;
    return under === '' ? evil : `{"${under}":${evil},"customerId":"c","placements":["home-hero"],"type":"page_view","channel":"web"}`;
  });

/** Objects with the endpoint's own keys, each value right or wrong, plus stray keys. */
function structured(shape: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<string> {
  const keys = Object.keys(shape);
  const fields: Record<string, fc.Arbitrary<unknown>> = {};
  for (const key of keys) fields[key] = fc.oneof(shape[key] as fc.Arbitrary<unknown>, wrongValue);
  return fc
    .tuple(fc.record(fields, { requiredKeys: [] }), fc.dictionary(unicodeString, weirdScalar, { maxKeys: 3 }), fc.boolean())
    .map(([known, extra, withExtra]) => JSON.stringify(withExtra ? { ...extra, ...known } : known));
}

const slug = fc.constantFrom(...PLACEMENTS, 'nope', 'a', 'z'.repeat(64));
const customerIdish = fc.oneof(fc.constant('known'), fc.stringMatching(/^[A-Za-z0-9._:@-]{1,128}$/), unicodeString);

const touchpointShape = {
  id: fc.oneof(fc.string({ minLength: 1, maxLength: 256 }), fc.string({ minLength: 257, maxLength: 400 })),
  type: fc.constantFrom('page_view', 'cart_add', 'purchase', 'Bad Type'),
  channel: fc.constantFrom('web', 'app', 'email', ''),
  at: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.constantFrom('2099-01-01T00:00:00Z', '2026-01-31T12:00:00')),
  properties: fc.oneof(fc.dictionary(unicodeString, anyJson, { maxKeys: 5 }), fc.constant({ big: 'y'.repeat(5000) })),
};
const touchpointBody = structured(touchpointShape);
const touchpointBatchBody = fc.oneof(
  fc.array(touchpointBody, { maxLength: 20 }).map((tps) => `{"touchpoints":[${tps.join(',')}]}`),
  structured({ touchpoints: fc.array(fc.record(touchpointShape, { requiredKeys: [] }), { maxLength: 5 }) }),
  fc.integer({ min: 999, max: 1002 }).map((n) => JSON.stringify({ touchpoints: Array.from({ length: n }, () => ({ type: 'page_view', channel: 'web' })) })),
);
const patchBody = structured({
  attributes: fc.dictionary(unicodeString, fc.oneof(anyJson, fc.constant(null)), { maxKeys: 8 }),
  stage: fc.oneof(fc.constantFrom('awareness', 'consideration', 'purchase', 'retention', 'nope'), fc.constant(null)),
});
const decisionShape = {
  customerId: customerIdish,
  placements: fc.array(slug, { maxLength: 25 }),
  context: fc.dictionary(unicodeString, anyJson, { maxKeys: 6 }),
  explain: fc.boolean(),
};
const decisionBody = structured(decisionShape);
const batchBody = fc.oneof(
  fc.array(fc.oneof(decisionBody, fc.json({ maxDepth: 3 }), deepJson), { maxLength: 15 }).map((reqs) => `{"requests":[${reqs.join(',')}]}`),
  structured({ requests: fc.array(fc.record(decisionShape, { requiredKeys: [] }), { maxLength: 5 }) }),
);

/** Any body at all: JSON of any kind, deep, polluting, malformed, or shaped like the endpoint's. */
function bodyFor(shaped: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: shaped },
    { weight: 2, arbitrary: fc.json({ maxDepth: 4 }) },
    { weight: 1, arbitrary: deepJson },
    { weight: 1, arbitrary: pollutingJson },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 80 }) },
    { weight: 1, arbitrary: hugeString.map((s) => JSON.stringify({ s })) },
  );
}

/** A path segment: a valid id, URL-encoded garbage, or raw percent-garbage. */
const segment = fc.oneof(
  fc.constant('known'),
  fc.stringMatching(/^[A-Za-z0-9._:@-]{1,128}$/),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 200 }).map(encodeURIComponent),
  fc.constantFrom('%', '%zz', '%00', '%2e%2e', '..', '.', 'a%2Fb', '%C0%AF', '%E2%82', '%FF%FE', 'x'.repeat(129), '%20', '@', ':'),
);

/** A query string: encoded pairs, repeated placements, or raw garbage. */
const queryString = fc.oneof(
  fc
    .array(fc.tuple(fc.oneof(fc.constant('placement'), unicodeString), fc.oneof(slug, unicodeString)), { maxLength: 25 })
    .map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')),
  fc.constantFrom('placement', 'placement=', '=', '&&&', 'placement=%zz', '%', 'a=%E2%82', 'placement=home-hero&placement=home-hero', '__proto__=x&constructor=y&placement=home-hero'),
  fc.string({ maxLength: 60 }).map((s) => s.replace(/[#\s]/g, '')),
);

// ---- properties ---------------------------------------------------------------

describe('fuzzing: never a 5xx, always a well-formed answer', () => {
  it('POST /v1/customers/{id}/touchpoints, single and batch', async () => {
    await fc.assert(
      fc.asyncProperty(segment, bodyFor(fc.oneof(touchpointBody, touchpointBatchBody)), async (id, body) => {
        await send('POST', `/v1/customers/${id}/touchpoints`, body);
      }),
      { numRuns: RUNS },
    );
  });

  it('PATCH /v1/customers/{id}', async () => {
    await fc.assert(
      fc.asyncProperty(segment, bodyFor(patchBody), async (id, body) => {
        await send('PATCH', `/v1/customers/${id}`, body);
      }),
      { numRuns: RUNS },
    );
  });

  it('GET and DELETE /v1/customers/{id}', async () => {
    await fc.assert(
      fc.asyncProperty(segment, fc.constantFrom('GET', 'DELETE'), queryString, async (id, method, query) => {
        const status = await send(method, `/v1/customers/${id}?${query}`);
        if (method === 'DELETE') expect([204, 400, 404]).toContain(status);
      }),
      { numRuns: RUNS },
    );
  });

  it('POST /v1/decisions', async () => {
    await fc.assert(
      fc.asyncProperty(bodyFor(decisionBody), async (body) => {
        await send('POST', '/v1/decisions', body);
      }),
      { numRuns: RUNS },
    );
  });

  it('GET /v1/decisions/{customerId} with arbitrary query strings', async () => {
    await fc.assert(
      fc.asyncProperty(segment, queryString, async (id, query) => {
        await send('GET', `/v1/decisions/${id}?${query}`);
      }),
      { numRuns: RUNS },
    );
  });

  it('POST /v1/decisions/batch', async () => {
    await fc.assert(
      fc.asyncProperty(bodyFor(batchBody), async (body) => {
        const status = await send('POST', '/v1/decisions/batch', body);
        if (status === 200) {
          const res = await h.app.request('/v1/decisions/batch', { method: 'POST', body, headers: { 'content-type': 'application/json' } });
          const answer = (await res.json()) as { results: unknown[] };
          expect(Array.isArray(answer.results)).toBe(true);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('GET /v1/rules, /healthz and /readyz, with garbage query strings and bodies', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/v1/rules', '/healthz', '/readyz'), queryString, async (path, query) => {
        expect(await send('GET', `${path}?${query}`)).toBe(200);
      }),
      { numRuns: RUNS },
    );
  });

  it('any method on any path under /v1', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'),
        fc.array(segment, { minLength: 0, maxLength: 4 }),
        fc.option(fc.json({ maxDepth: 2 }), { nil: undefined }),
        async (method, segments, body) => {
          await send(method, `/v1/${segments.join('/')}`, method === 'GET' ? undefined : body);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('bodies over the 1 MB limit answer 413 problem+json on every body-taking endpoint', async () => {
    const big = JSON.stringify({ s: 'x'.repeat(1024 * 1024 + 10) });
    for (const [method, url] of [
      ['POST', '/v1/customers/c/touchpoints'],
      ['PATCH', '/v1/customers/c'],
      ['POST', '/v1/decisions'],
      ['POST', '/v1/decisions/batch'],
    ] as const) {
      expect(await send(method, url, big)).toBe(413);
    }
  });

  it('leaves Object.prototype clean', () => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(prototypeIsClean()).toBe(true);
  });
});
