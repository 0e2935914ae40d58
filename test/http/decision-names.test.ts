/**
 * Decision ids carry placement names, item ids and rule names by their number
 * in the name list shared through the store (contract section 8: an outcome
 * is accepted on any replica). Two apps over one store stand for two replicas.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createHarness, json, type Harness } from './harness.js';

describe.each(['sqlite', 'redis'] as const)('decision names shared through the %s store', (store) => {
  const harnesses: Harness[] = [];
  afterEach(async () => {
    // Replicas first: the first harness removes the shared keys.
    for (const h of harnesses.splice(0).reverse()) await h.close();
  });

  async function open(options: Parameters<typeof createHarness>[0]): Promise<Harness> {
    const h = await createHarness(options);
    harnesses.push(h);
    return h;
  }

  it("a replica that has not read the list accepts outcomes for another replica's decision", async () => {
    const a = await open({ store });
    const b = await open({ replicaOf: a, shareRuleNames: false });
    expect(a.names.size).toBeGreaterThan(0);
    expect(b.names.size).toBe(0);
    const decision = await json(await a.request('POST', '/v1/decisions', { customerId: 'c-1', placements: ['home-hero', 'sidebar'], context: { channel: 'web' } }));
    const served = decision.placements['home-hero'].items[0];
    // Numbered: the id names no placement, item or rule in full.
    const payload = Buffer.from(decision.decisionId, 'base64url').toString('latin1');
    for (const name of ['home-hero', 'sidebar', served.id]) expect(payload).not.toContain(name);

    const outcome = { decisionId: decision.decisionId, customerId: 'c-1', placement: 'home-hero', item: served.id, kind: 'click' };
    const res = await b.request('POST', '/v1/outcomes', outcome);
    expect(res.status, await res.clone().text()).toBe(202);
    expect(await json(res)).toEqual({ accepted: 1, duplicates: 0 });
    expect(b.names.size).toBe(a.names.size);
    const profile = await json(await b.request('GET', '/v1/customers/c-1'));
    expect(profile.outcomes).toEqual([expect.objectContaining({ decisionId: decision.decisionId, item: served.id, rule: served.rule, kind: 'click' })]);
    // And the other way round, with B's own numbers, which are A's.
    const fromB = await json(await b.request('POST', '/v1/decisions', { customerId: 'c-2', placements: ['home-hero'], context: { channel: 'web' } }));
    const item = fromB.placements['home-hero'].items[0].id;
    const back = await a.request('POST', '/v1/outcomes', { decisionId: fromB.decisionId, customerId: 'c-2', placement: 'home-hero', item, kind: 'impression' });
    expect(back.status).toBe(202);
  });

  it('a restarted service reads the numbers it gave out before', async () => {
    const a = await open({ store });
    const decision = await json(await a.request('POST', '/v1/decisions', { customerId: 'c-1', placements: ['home-hero'], context: { channel: 'web' } }));
    const item = decision.placements['home-hero'].items[0].id;
    const restarted = await open({ replicaOf: a, shareRuleNames: false });
    await a.store.close();
    const res = await restarted.request('POST', '/v1/outcomes', { decisionId: decision.decisionId, customerId: 'c-1', placement: 'home-hero', item, kind: 'impression' });
    expect(res.status, await res.clone().text()).toBe(202);
  });
});
