/**
 * When the profile store fails (rejects, or hangs past STORE_TIMEOUT_MS),
 * decisions degrade instead of failing the page; writes and profile reads
 * answer 503 with Retry-After; /readyz reports it; and everything recovers by
 * itself once the store answers again.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ProfileDataError } from '../../src/domain/errors.js';
import { createApp } from '../../src/http/app.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { decisionSchema } from '../../src/domain/decision.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createProfileStore } from '../../src/composition.js';
import type { CachedProfileStore } from '../../src/profiles/cached-store.js';
import type { ProfileStore } from '../../src/profiles/store.js';
import { createRuleRegistry } from '../../src/reload/registry.js';
import Database from 'better-sqlite3';
import { createHarness, expectProblem, FIXTURE_RULES_DIR, fixedClock, json, removeTempDirs, touchpoint } from './harness.js';

type Mode = 'ok' | 'reject' | 'hang' | 'corrupt';

/**
 * The backend with every call switchable between passing through, rejecting
 * (a lost connection), never settling, and failing on the customer's data.
 */
function controllable(inner: ProfileStore): { store: ProfileStore; set(mode: Mode): void; calls(): number } {
  let mode: Mode = 'ok';
  let calls = 0;
  const store = new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function' || property === 'close') return value;
      return (...args: unknown[]) => {
        calls++;
        if (mode === 'reject') return Promise.reject(new Error('connection refused'));
        if (mode === 'corrupt') return Promise.reject(new ProfileDataError('WRONGTYPE Operation against a key holding the wrong kind of value'));
        if (mode === 'hang') return new Promise(() => {});
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store, set: (next) => (mode = next), calls: () => calls };
}

const STORE_TIMEOUT_MS = 50;

async function setup(circuitBreaker: { failures: number; openMs: number } | false = false) {
  const clock = fixedClock();
  const registry = createRuleRegistry({ dir: FIXTURE_RULES_DIR, logger: silentLogger, now: clock.now });
  const outcome = await registry.reload();
  if (!outcome.ok) throw new Error('fixture rules are invalid');
  let backend: ReturnType<typeof controllable> | undefined;
  const store: CachedProfileStore = createProfileStore({
    store: 'memory',
    sqlitePath: '',
    retentionDays: 365,
    maxTouchpointsPerProfile: 1000,
    cacheMax: 100,
    now: clock.now,
    storeTimeoutMs: STORE_TIMEOUT_MS,
    circuitBreaker,
    wrapBackend: (inner) => {
      backend = controllable(inner);
      return backend.store;
    },
  });
  const metrics = createMetrics({ processMetrics: false });
  const app = createApp({ rules: registry, store, logger: silentLogger, now: clock.now, metrics });
  const request = (method: string, url: string, body?: unknown) =>
    Promise.resolve(
      app.request(url, body === undefined ? { method } : { method, body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } }),
    );
  /** nextbest_degraded_decisions_total as /metrics shows it. */
  const degradedCount = async () => {
    const text = await (await app.request('/metrics')).text();
    return Number(/^nextbest_degraded_decisions_total (\S+)$/m.exec(text)?.[1]);
  };
  return { app, store, backend: backend as ReturnType<typeof controllable>, request, degradedCount };
}

describe.each(['reject', 'hang'] as const)('when the profile store fails (%s)', (failure) => {
  let env: Awaited<ReturnType<typeof setup>>;

  afterEach(async () => {
    env.backend.set('ok');
    await env.store.close();
  });

  async function decide(customerId: string) {
    const res = await env.request('POST', '/v1/decisions', { customerId, placements: ['home-hero'] });
    expect(res.status).toBe(200);
    return json(res);
  }

  async function prepare() {
    env = await setup();
    expect((await env.request('PATCH', '/v1/customers/c-cached', { attributes: { tier: 'gold' } })).status).toBe(200);
    expect((await env.request('PATCH', '/v1/customers/c-uncached', { attributes: { tier: 'gold' } })).status).toBe(200);
    // Only c-cached is read (and so cached) before the store fails; the write left c-uncached out of the cache.
    const before = await decide('c-cached');
    expect(before.placements['home-hero'].items[0].id).toBe('offer-gold');
    env.backend.set(failure);
  }

  it('a cached customer is still decided from the cache, not degraded', async () => {
    await prepare();
    const calls = env.backend.calls();
    const body = await decide('c-cached');
    expect(body.placements['home-hero'].items[0]).toMatchObject({ id: 'offer-gold', rule: 'gold-members' });
    expect(body.degraded).toBeUndefined();
    expect(env.backend.calls()).toBe(calls);
  });

  it('an uncached customer is decided as a new visitor with degraded: true and a 200, by POST and GET', async () => {
    await prepare();
    const body = await decide('c-uncached');
    expect(body).toMatchObject({ customerId: 'c-uncached', stage: 'awareness', stageSource: 'default', degraded: true });
    expect(body.placements['home-hero']).toMatchObject({ fallback: true, items: [{ id: 'hero-welcome', rule: null }] });
    expect(decisionSchema.strict().safeParse(body).success).toBe(true);

    const res = await env.request('GET', '/v1/decisions/c-uncached?placement=home-hero');
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ customerId: 'c-uncached', degraded: true });
  });

  it('a batch decides each request of a failed chunk as a new visitor, marked degraded; cached ones are not', async () => {
    await prepare();
    const res = await env.request('POST', '/v1/decisions/batch', {
      requests: [
        { customerId: 'c-uncached', placements: ['home-hero'] },
        { customerId: 'c-cached', placements: ['home-hero'] },
        { customerId: 'c-new', placements: ['home-hero'] },
        { customerId: 'c-bad', placements: ['no-such-placement'] },
      ],
    });
    expect(res.status).toBe(200);
    const { results } = await json(res);
    expect(results[0]).toMatchObject({ customerId: 'c-uncached', stageSource: 'default', degraded: true });
    expect(results[0].placements['home-hero'].fallback).toBe(true);
    // The chunk's read failed as a whole, so every request in it is marked, the cached one included.
    expect(results[1]).toMatchObject({ customerId: 'c-cached', degraded: true });
    expect(results[2]).toMatchObject({ customerId: 'c-new', degraded: true });
    expect(results[3]).toMatchObject({ status: 400 });
  });

  it('says so in the X-Nextbest-Degraded header and counts nextbest_degraded_decisions_total; other answers carry neither', async () => {
    await prepare();
    expect(await env.degradedCount()).toBe(0);
    const cached = await env.request('POST', '/v1/decisions', { customerId: 'c-cached', placements: ['home-hero'] });
    expect(cached.headers.get('x-nextbest-degraded')).toBeNull();
    const post = await env.request('POST', '/v1/decisions', { customerId: 'c-uncached', placements: ['home-hero'] });
    expect(post.headers.get('x-nextbest-degraded')).toBe('store-unavailable');
    const get = await env.request('GET', '/v1/decisions/c-uncached?placement=home-hero');
    expect(get.headers.get('x-nextbest-degraded')).toBe('store-unavailable');
    const batch = await env.request('POST', '/v1/decisions/batch', {
      requests: [
        { customerId: 'c-new', placements: ['home-hero'] },
        { customerId: 'c-cached', placements: ['home-hero'] },
      ],
    });
    expect(batch.headers.get('x-nextbest-degraded')).toBe('store-unavailable');
    // Two single decisions and both members of the failed batch chunk; the cached customer's own decision is not one.
    expect(await env.degradedCount()).toBe(4);

    env.backend.set('ok');
    const recovered = await env.request('POST', '/v1/decisions', { customerId: 'c-uncached', placements: ['home-hero'] });
    expect(recovered.headers.get('x-nextbest-degraded')).toBeNull();
    expect(await env.degradedCount()).toBe(4);
  });

  it("a cached customer's failed write keeps its last known profile: still decided from it, not as a new visitor", async () => {
    await prepare();
    await expectProblem(await env.request('POST', '/v1/customers/c-cached/touchpoints', touchpoint({ id: 'tp-1' })), 503);
    await expectProblem(await env.request('PATCH', '/v1/customers/c-cached', { attributes: { tier: 'silver' } }), 503);
    const body = await decide('c-cached');
    expect(body.placements['home-hero'].items[0]).toMatchObject({ id: 'offer-gold', rule: 'gold-members' });
    expect(body.degraded).toBeUndefined();
    // Once the store answers, what it holds wins: the failed patch never landed, a successful one does.
    env.backend.set('ok');
    expect((await env.request('PATCH', '/v1/customers/c-cached', { attributes: { tier: 'silver' } })).status).toBe(200);
    expect((await decide('c-cached')).placements['home-hero'].items[0].id).not.toBe('offer-gold');
  });

  it('writes and profile reads answer 503 problem+json with Retry-After', async () => {
    await prepare();
    const answers = [
      await env.request('POST', '/v1/customers/c-uncached/touchpoints', touchpoint({ id: 'tp-1' })),
      await env.request('PATCH', '/v1/customers/c-uncached', { attributes: { tier: 'silver' } }),
      await env.request('DELETE', '/v1/customers/c-uncached'),
      await env.request('GET', '/v1/customers/c-uncached'),
    ];
    for (const res of answers) {
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      const problem = await expectProblem(res, 503);
      expect(problem.type).toBe('/problems/store-unavailable');
    }
  });

  it('/readyz answers 503 while the store fails, within the store timeout, and 200 once it recovers', async () => {
    await prepare();
    const started = performance.now();
    const failing = await env.request('GET', '/readyz');
    expect(performance.now() - started).toBeLessThan(900);
    const problem = await expectProblem(failing, 503);
    expect(problem.checks).toMatchObject({ rules: 'ok' });
    expect((await env.request('GET', '/healthz')).status).toBe(200);

    env.backend.set('ok');
    expect((await env.request('GET', '/readyz')).status).toBe(200);
  });

  it('recovers by itself: once the store answers, decisions are personalised again and writes succeed', async () => {
    await prepare();
    expect((await decide('c-uncached')).degraded).toBe(true);
    env.backend.set('ok');
    const body = await decide('c-uncached');
    expect(body.degraded).toBeUndefined();
    expect(body.placements['home-hero'].items[0].id).toBe('offer-gold');
    const batch = await json(await env.request('POST', '/v1/decisions/batch', { requests: [{ customerId: 'c-new-2', placements: ['home-hero'] }] }));
    expect(batch.results[0].degraded).toBeUndefined();
    expect((await env.request('POST', '/v1/customers/c-uncached/touchpoints', touchpoint({ id: 'tp-2' }))).status).toBe(202);
  });
});

describe('with the circuit breaker', () => {
  it('skips a hanging store after failures in a row, answering degraded at once, and tries it again after the window', async () => {
    const env = await setup({ failures: 2, openMs: 300 });
    try {
      env.backend.set('hang');
      const decide = async (customerId: string) => {
        const started = performance.now();
        const res = await env.request('POST', '/v1/decisions', { customerId, placements: ['home-hero'] });
        expect(res.status).toBe(200);
        return { body: await json(res), ms: performance.now() - started };
      };
      expect((await decide('c-1')).body.degraded).toBe(true);
      expect((await decide('c-2')).body.degraded).toBe(true);
      const calls = env.backend.calls();
      const skipped = await decide('c-3');
      expect(skipped.body.degraded).toBe(true);
      expect(skipped.ms).toBeLessThan(STORE_TIMEOUT_MS);
      expect(env.backend.calls()).toBe(calls);
      const write = await env.request('PATCH', '/v1/customers/c-3', { attributes: { tier: 'gold' } });
      expect(write.headers.get('retry-after')).toMatch(/^\d+$/);
      await expectProblem(write, 503);

      env.backend.set('ok');
      await new Promise((resolve) => setTimeout(resolve, 350));
      const recovered = await decide('c-4');
      expect(recovered.body.degraded).toBeUndefined();
      expect(env.backend.calls()).toBeGreaterThan(calls);
    } finally {
      env.backend.set('ok');
      await env.store.close();
    }
  });
});

describe("when one customer's stored data cannot be read", () => {
  it('decides that customer as a new visitor marked profile-unreadable, answers its writes 500, and never opens the circuit breaker', async () => {
    const env = await setup({ failures: 2, openMs: 60_000 });
    try {
      env.backend.set('corrupt');
      const res = await env.request('POST', '/v1/decisions', { customerId: 'c-broken', placements: ['home-hero'] });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-nextbest-degraded')).toBe('profile-unreadable');
      expect(await json(res)).toMatchObject({ customerId: 'c-broken', stageSource: 'default', degraded: true });
      const batch = await env.request('POST', '/v1/decisions/batch', { requests: [{ customerId: 'c-broken', placements: ['home-hero'] }] });
      expect(batch.headers.get('x-nextbest-degraded')).toBe('profile-unreadable');
      for (let n = 0; n < 5; n++) {
        const write = await env.request('PATCH', '/v1/customers/c-broken', { attributes: { tier: 'gold' } });
        expect(write.headers.get('retry-after')).toBeNull();
        await expectProblem(write, 500);
      }
      expect(await env.degradedCount()).toBe(2);
      // Not an outage: the very next call reaches the store.
      env.backend.set('ok');
      expect((await env.request('PATCH', '/v1/customers/c-innocent', { attributes: { tier: 'gold' } })).status).toBe(200);
    } finally {
      env.backend.set('ok');
      await env.store.close();
    }
  });
});

describe('a customer whose row in the SQLite file cannot be read', () => {
  it('is decided as a new visitor marked profile-unreadable, on a real file edited by hand, and the other customers as before', async () => {
    const h = await createHarness({ store: 'sqlite' });
    try {
      for (const id of ['c-broken', 'c-fine']) {
        expect((await h.request('PATCH', `/v1/customers/${id}`, { attributes: { tier: 'gold' } })).status).toBe(200);
      }
      const raw = new Database(h.sqlitePath as string);
      raw.prepare("UPDATE profiles SET attributes = '{not json' WHERE customer_id = 'c-broken'").run();
      raw.close();
      const res = await h.request('GET', '/v1/decisions/c-broken?placement=home-hero');
      expect(res.status).toBe(200);
      expect(res.headers.get('x-nextbest-degraded')).toBe('profile-unreadable');
      expect(await json(res)).toMatchObject({ customerId: 'c-broken', degraded: true });
      const fine = await h.request('GET', '/v1/decisions/c-fine?placement=home-hero');
      expect(fine.headers.get('x-nextbest-degraded')).toBeNull();
      expect((await json(fine)).degraded).toBeUndefined();
    } finally {
      await h.close();
      removeTempDirs();
    }
  });
});
