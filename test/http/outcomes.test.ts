import { afterEach, describe, expect, it } from 'vitest';
import { createHarness, DAY_MS, json, MINUTE_MS, STORE_KINDS, type Harness } from './harness.js';

/** A decision for the customer, and what it served in home-hero. */
async function decided(h: Harness, customerId = 'c-1'): Promise<{ decisionId: string; item: string; rule: string | null }> {
  const res = await h.request('POST', '/v1/decisions', { customerId, placements: ['home-hero', 'sidebar'], context: { channel: 'web' } });
  expect(res.status).toBe(200);
  const decision = await json(res);
  const served = decision.placements['home-hero'].items[0];
  return { decisionId: decision.decisionId, item: served.id, rule: served.rule };
}

describe.each(STORE_KINDS)('POST /v1/outcomes (%s)', (store) => {
  let h: Harness;
  afterEach(async () => {
    await h.close();
  });

  it('stores an outcome with the rule and arm from the decision id, and the profile shows it', async () => {
    h = await createHarness({ store });
    const { decisionId, item, rule } = await decided(h);
    const res = await h.request('POST', '/v1/outcomes', { decisionId, customerId: 'c-1', placement: 'home-hero', item, kind: 'click' });
    expect(res.status).toBe(202);
    expect(await json(res)).toEqual({ accepted: 1, duplicates: 0 });
    const profile = await json(await h.request('GET', '/v1/customers/c-1'));
    expect(profile.outcomes).toEqual([
      { decisionId, placement: 'home-hero', item, rule, arm: null, kind: 'click', at: new Date(h.clock.now()).toISOString(), value: null },
    ]);
  });

  it('counts repeats as duplicates, in a batch and on a retry, and stores each kind once', async () => {
    h = await createHarness({ store });
    const { decisionId, item } = await decided(h);
    const base = { decisionId, customerId: 'c-1', placement: 'home-hero', item };
    const batch = { outcomes: [{ ...base, kind: 'impression' }, { ...base, kind: 'impression' }, { ...base, kind: 'conversion', value: 59.9 }] };
    expect(await json(await h.request('POST', '/v1/outcomes', batch))).toEqual({ accepted: 2, duplicates: 1 });
    const retry = await h.request('POST', '/v1/outcomes', batch);
    expect(retry.status).toBe(202);
    expect(await json(retry)).toEqual({ accepted: 0, duplicates: 3 });
  });

  it('a customer sees their own outcomes at once: outcomeCount and caps read the write', async () => {
    h = await createHarness({ store });
    const first = await decided(h);
    await h.request('POST', '/v1/outcomes', { decisionId: first.decisionId, customerId: 'c-1', placement: 'home-hero', item: first.item, kind: 'dismiss' });
    const decision = await json(await h.request('POST', '/v1/decisions', { customerId: 'c-1', placements: ['home-hero'], explain: true }));
    // The decision profile the next decision read holds the outcome (through the cache, invalidated by the write).
    const profile = await h.store.getForDecision('c-1');
    expect(profile?.outcomes.kinds).toEqual(['dismiss']);
    expect(decision.decisionId).not.toBe(first.decisionId);
  });
});

describe('POST /v1/outcomes refuses', () => {
  let h: Harness;
  afterEach(async () => {
    await h.close();
  });

  async function refused(body: unknown): Promise<{ status: number; errors: Array<{ path: string; message: string }> }> {
    const res = await h.request('POST', '/v1/outcomes', body);
    const problem = await json(res);
    return { status: res.status, errors: problem.errors };
  }

  it('an id altered by one character, a made-up id, another customer, an item or placement not served, naming each and storing nothing', async () => {
    h = await createHarness();
    const { decisionId, item } = await decided(h);
    const good = { decisionId, customerId: 'c-1', placement: 'home-hero', item, kind: 'click' };
    const last = decisionId.at(-2) === 'A' ? 'B' : 'A';
    const altered = `${decisionId.slice(0, -2)}${last}${decisionId.at(-1)}`;
    const answer = await refused({
      outcomes: [
        good,
        { ...good, decisionId: altered },
        { ...good, decisionId: '6f1c2a9e-3d7b-4c1e-9a55-0b6d2f7e8c10' },
        { ...good, customerId: 'c-2' },
        { ...good, item: 'offer-gold-not-served' },
        { ...good, placement: 'email-banner' },
      ],
    });
    expect(answer.status).toBe(400);
    expect(answer.errors.map((e) => e.path)).toEqual([
      '$.outcomes[1].decisionId',
      '$.outcomes[2].decisionId',
      '$.outcomes[3].customerId',
      '$.outcomes[4].item',
      '$.outcomes[5].placement',
    ]);
    expect((await json(await h.request('GET', '/v1/customers/c-1'))).outcomes ?? []).toEqual([]);
  });

  it('a single outcome with its errors at $', async () => {
    h = await createHarness();
    const { decisionId, item } = await decided(h);
    const answer = await refused({ decisionId, customerId: 'c-2', placement: 'home-hero', item, kind: 'click' });
    expect(answer).toEqual({ status: 400, errors: [{ path: '$.customerId', message: 'is not the customer the decision was made for' }] });
  });

  it('a decision older than 30 days, and accepts one of exactly 30', async () => {
    h = await createHarness();
    const { decisionId, item } = await decided(h);
    const outcome = { decisionId, customerId: 'c-1', placement: 'home-hero', item, kind: 'click' };
    h.clock.advance(30 * DAY_MS);
    expect((await h.request('POST', '/v1/outcomes', outcome)).status).toBe(202);
    h.clock.advance(MINUTE_MS);
    const answer = await refused({ ...outcome, kind: 'impression' });
    expect(answer).toEqual({ status: 400, errors: [{ path: '$.decisionId', message: 'is older than 30 days' }] });
  });

  it('an unknown kind, a negative value, a time in the future, a missing field, an empty or oversized batch', async () => {
    h = await createHarness();
    const { decisionId, item } = await decided(h);
    const good = { decisionId, customerId: 'c-1', placement: 'home-hero', item, kind: 'click' };
    expect((await refused({ ...good, kind: 'purchase' })).errors[0]?.path).toBe('$.kind');
    expect((await refused({ outcomes: [good, { ...good, value: -1 }] })).errors[0]?.path).toBe('$.outcomes[1].value');
    expect((await refused({ ...good, at: new Date(h.clock.now() + 10 * MINUTE_MS).toISOString() })).errors[0]?.path).toBe('$.at');
    expect((await refused({ ...good, item: undefined })).errors[0]?.path).toBe('$.item');
    expect((await refused({ ...good, extra: 1 })).status).toBe(400);
    expect((await refused({ outcomes: [] })).errors[0]?.path).toBe('$.outcomes');
    expect((await refused({ outcomes: Array.from({ length: 1001 }, () => good) })).errors[0]?.path).toBe('$.outcomes');
    expect((await refused({ __proto__: good, constructor: {} })).status).toBe(400);
  });

  it('outcomes when the store is down: 503, never 202', async () => {
    h = await createHarness({
      wrapStore: (store) => ({
        ...store,
        appendOutcomes: async () => {
          const { StoreUnavailableError } = await import('../../src/domain/errors.js');
          throw new StoreUnavailableError('down for the test');
        },
      }),
    });
    const { decisionId, item } = await decided(h);
    const res = await h.request('POST', '/v1/outcomes', { decisionId, customerId: 'c-1', placement: 'home-hero', item, kind: 'click' });
    expect(res.status).toBe(503);
  });
});

describe('outcome metrics and logs', () => {
  it('counts stored outcomes by kind and refused ones by reason, and logs each refused batch', async () => {
    const { createApp } = await import('../../src/http/app.js');
    const { createMetrics } = await import('../../src/observability/metrics.js');
    const { createProfileStore } = await import('../../src/composition.js');
    const { createRuleRegistry } = await import('../../src/reload/registry.js');
    const { FIXTURE_RULES_DIR, fixedClock } = await import('./harness.js');
    const clock = fixedClock();
    const logged: Array<{ level: string; msg: string; fields: unknown }> = [];
    const record = (level: string) => (msg: string, fields?: unknown) => void logged.push({ level, msg, fields });
    const logger = { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error'), unredacted: () => undefined };
    const registry = createRuleRegistry({ dir: FIXTURE_RULES_DIR, logger, now: clock.now });
    await registry.reload();
    const store = createProfileStore({ store: 'memory', sqlitePath: '', retentionDays: 365, maxTouchpointsPerProfile: 100, cacheMax: 10, now: clock.now });
    const metrics = createMetrics({ processMetrics: false });
    const app = createApp({ rules: registry, store, logger, now: clock.now, metrics });
    const post = (path: string, body: unknown) => app.request(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    try {
      const decision = await json(await post('/v1/decisions', { customerId: 'c-1', placements: ['home-hero'] }));
      const item = decision.placements['home-hero'].items[0].id;
      const good = { decisionId: decision.decisionId, customerId: 'c-1', placement: 'home-hero', item };
      expect((await post('/v1/outcomes', { outcomes: [{ ...good, kind: 'impression' }, { ...good, kind: 'click' }, { ...good, kind: 'click' }] })).status).toBe(202);
      expect((await post('/v1/outcomes', { outcomes: [{ ...good, kind: 'click', customerId: 'c-2' }, { ...good, kind: 'click', decisionId: 'forged' }] })).status).toBe(400);
      expect((await post('/v1/outcomes', { ...good, kind: 'nope' })).status).toBe(400);
      const text = await metrics.render();
      expect(text).toContain('nextbest_outcomes_total{kind="impression"} 1');
      expect(text).toContain('nextbest_outcomes_total{kind="click"} 1');
      expect(text).toContain('nextbest_outcomes_rejected_total{reason="other-customer"} 1');
      expect(text).toContain('nextbest_outcomes_rejected_total{reason="forged"} 1');
      expect(text).toContain('nextbest_outcomes_rejected_total{reason="invalid"} 1');
      const refusals = logged.filter((l) => l.msg === 'outcomes refused');
      expect(refusals.map((l) => l.level)).toEqual(['warn', 'info']);
      expect(refusals[0]?.fields).toEqual({ outcomes: 2, 'other-customer': 1, forged: 1 });
    } finally {
      await store.close();
    }
  });
});
