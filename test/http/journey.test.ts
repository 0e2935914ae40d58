import { afterEach, describe, expect, it } from 'vitest';
import { createHarness, DAY_MS, expectProblem, iso, json, STORE_KINDS, type Harness } from './harness.js';

describe.each(STORE_KINDS)('GET /v1/reports/journey (%s store)', (kind) => {
  let h: Harness;

  afterEach(async () => {
    await h.close();
  });

  async function touch(customerId: string, type: string, channel: string, offsetMs: number) {
    const res = await h.request('POST', `/v1/customers/${customerId}/touchpoints`, { type, channel, at: iso(h.clock, offsetMs) });
    expect(res.status).toBe(202);
  }

  it('places every customer now and as at `days` ago, counts transitions and recent touchpoints per stage', async () => {
    h = await createHarness({ store: kind });
    // Browsed 40 days ago, added to cart 3 days ago: consideration then, purchase now.
    await touch('j-mover', 'page_view', 'web', -40 * DAY_MS);
    await touch('j-mover', 'cart_add', 'web', -3 * DAY_MS);
    // Nothing 30 days ago: the first stage then; browsing now.
    await touch('j-new', 'page_view', 'email', -1 * DAY_MS);
    await touch('j-new', 'page_view', 'email', -2 * DAY_MS);
    // Bought 100 days ago: retention then and now.
    await touch('j-loyal', 'purchase', 'store', -100 * DAY_MS);
    // An explicit stage counts for now only.
    expect((await h.request('PATCH', '/v1/customers/j-explicit', { stage: 'advocacy' })).status).toBe(200);

    const res = await h.request('GET', '/v1/reports/journey?days=30');
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.asOf).toBe(new Date(h.clock.now()).toISOString());
    expect(body.days).toBe(30);
    expect(body.customers).toBe(4);
    const byStage = Object.fromEntries(body.stages.map((s: { stage: string }) => [s.stage, s]));
    expect(body.stages.map((s: { stage: string }) => s.stage)).toEqual(['awareness', 'consideration', 'purchase', 'retention', 'advocacy']);
    expect(byStage.consideration).toMatchObject({ customers: 1, share: 0.25, customersThen: 1 });
    expect(byStage.purchase).toMatchObject({ customers: 1, customersThen: 0 });
    expect(byStage.retention).toMatchObject({ customers: 1, customersThen: 1 });
    expect(byStage.advocacy).toMatchObject({ customers: 1, customersThen: 0 });
    expect(byStage.awareness).toMatchObject({ customers: 0, share: 0, customersThen: 2 });
    expect(body.transitions).toEqual([
      { from: 'awareness', to: 'consideration', customers: 1 },
      { from: 'awareness', to: 'advocacy', customers: 1 },
      { from: 'consideration', to: 'purchase', customers: 1 },
      { from: 'retention', to: 'retention', customers: 1 },
    ]);
    expect(body.touchpoints).toEqual([
      { stage: 'consideration', type: 'page_view', channel: 'email', count: 2 },
      { stage: 'purchase', type: 'cart_add', channel: 'web', count: 1 },
    ]);
  });

  it('keeps the map for the configured age, then refreshes it in the background', async () => {
    h = await createHarness({ store: kind });
    await touch('j-one', 'page_view', 'web', -DAY_MS);
    const first = await json(await h.request('GET', '/v1/reports/journey'));
    expect(first.customers).toBe(1);
    await touch('j-two', 'page_view', 'web', -DAY_MS);
    // Within the age: the same map.
    expect(await json(await h.request('GET', '/v1/reports/journey'))).toEqual(first);
    h.clock.advance(61_000);
    // Stale: answered from the kept map while a new one is computed.
    const stale = await json(await h.request('GET', '/v1/reports/journey'));
    expect(stale.asOf).toBe(first.asOf);
    await expect.poll(async () => (await json(await h.request('GET', '/v1/reports/journey'))).customers).toBe(2);
  });

  it.each(['0', '366', '1.5', 'ten', '', '-3', '1e2'])('answers 400 naming days for ?days=%s', async (days) => {
    h = await createHarness({ store: kind });
    const problem = await expectProblem(await h.request('GET', `/v1/reports/journey?days=${days}`), 400);
    expect(problem.errors?.[0]?.path).toBe('days');
  });
});
