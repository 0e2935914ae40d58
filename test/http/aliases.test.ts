/** POST /v1/customers/{id}/aliases, and every route given an alias (contract section 11), on every store. */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { copyFixtureRules, createHarness, expectProblem, expectValidationErrors, json, removeTempDirs, STORE_KINDS, touchpoint, type Harness } from './harness.js';

/** A placement that serves offer-gold only to the customer whose id (the fact) is c-canon. */
function rulesWithCustomerIdRule(): string {
  const dir = copyFixtureRules();
  const placement = {
    placement: 'who',
    fallback: ['side-note'],
    rules: [
      {
        name: 'the-canonical-id',
        conditions: { all: [{ fact: 'customerId', operator: 'equal', value: 'c-canon' }] },
        event: { type: 'serve', params: { items: ['offer-gold'] } },
      },
    ],
  };
  fs.writeFileSync(path.join(dir, 'placements', 'who.json'), JSON.stringify(placement));
  return dir;
}

describe.each(STORE_KINDS)('aliases (%s store)', (kind) => {
  let h: Harness;

  beforeEach(async () => {
    h = await createHarness({ store: kind, rulesDir: rulesWithCustomerIdRule(), maxAliasesPerCustomer: 3 });
  });
  afterEach(async () => {
    await h.close();
  });
  afterAll(removeTempDirs);

  const alias = (id: string, body: unknown) => h.request('POST', `/v1/customers/${encodeURIComponent(id)}/aliases`, body);
  const get = (id: string) => h.request('GET', `/v1/customers/${id}`);
  const decide = async (customerId: string, placements: string[]) => {
    const res = await h.request('POST', '/v1/decisions', { customerId, placements, explain: true });
    expect(res.status).toBe(200);
    return json(res);
  };

  describe('POST /v1/customers/{id}/aliases', () => {
    it('merges the alias in and answers 200 with the merged profile, which lists aliases', async () => {
      await h.request('POST', '/v1/customers/c-canon/touchpoints', touchpoint({ id: 'login', type: 'login' }));
      await h.request('POST', '/v1/customers/device-1/touchpoints', { touchpoints: [touchpoint({ id: 'v1' }), touchpoint({ id: 'login', type: 'login' })] });
      await h.request('PATCH', '/v1/customers/device-1', { attributes: { device: 'phone' }, stage: 'consideration' });

      const res = await alias('c-canon', { alias: 'device-1' });
      expect(res.status).toBe(200);
      const body = await json(res);
      expect(body).toMatchObject({ customerId: 'c-canon', aliases: ['device-1'], attributes: { device: 'phone' }, explicitStage: 'consideration', touchpointCount: 2 });
      // GET of either id answers the canonical profile.
      expect(await json(await get('device-1'))).toEqual(await json(await get('c-canon')));
      expect((await json(await get('c-canon'))).aliases).toEqual(['device-1']);
    });

    it('works for ids never seen, and a repeat (or an id already of the customer) is a no-op 200', async () => {
      expect((await alias('c-canon', { alias: 'device-1' })).status).toBe(200);
      const again = await alias('c-canon', { alias: 'device-1' });
      expect(again.status).toBe(200);
      expect((await json(again)).aliases).toEqual(['device-1']);
      // Through the alias: device-1 resolves to c-canon, whose id is already the customer's own.
      expect((await alias('device-1', { alias: 'c-canon' })).status).toBe(200);
      expect((await json(await alias('device-1', { alias: 'device-2' }))).customerId).toBe('c-canon');
      expect((await json(await get('c-canon'))).aliases).toEqual(['device-1', 'device-2']);
    });

    it('answers 409 for an alias of another customer, naming $.alias', async () => {
      await alias('c-canon', { alias: 'device-1' });
      const problem = await expectProblem(await alias('c-other', { alias: 'device-1' }), 409);
      expect(problem.type).toBe('/problems/alias-conflict');
      expect(problem.errors?.map((e) => e.path)).toEqual(['$.alias']);
      expect((await get('c-other')).status).toBe(404);
    });

    it('answers 409 past MAX_ALIASES_PER_CUSTOMER', async () => {
      for (const id of ['d-1', 'd-2', 'd-3']) expect((await alias('c-canon', { alias: id })).status).toBe(200);
      const problem = await expectProblem(await alias('c-canon', { alias: 'd-4' }), 409);
      expect(problem.type).toBe('/problems/alias-limit');
      expect((await get('d-4')).status).toBe(404);
    });

    it.each([
      ['the alias is the id itself', 'c-canon', { alias: 'c-canon' }, ['$.alias']],
      ['a bad alias', 'c-canon', { alias: 'a*b' }, ['$.alias']],
      ['no alias', 'c-canon', {}, ['$.alias']],
      ['an unknown field', 'c-canon', { alias: 'd-1', extra: 1 }, ['$.extra']],
      ['a bad id in the path', 'a*b', { alias: 'd-1' }, ['$.id']],
    ])('answers 400 for %s, naming the path', async (_why, id, body, paths) => {
      expect(await expectValidationErrors(await alias(id, body))).toEqual(paths);
    });

    it('answers 400 for malformed JSON', async () => {
      await expectProblem(await alias('c-canon', '{"alias":'), 400);
    });
  });

  describe('every route given an alias acts on the canonical customer', () => {
    beforeEach(async () => {
      expect((await alias('c-canon', { alias: 'device-1' })).status).toBe(200);
    });

    it('touchpoints and PATCH land on the canonical customer', async () => {
      expect((await h.request('POST', '/v1/customers/device-1/touchpoints', touchpoint({ id: 't1' }))).status).toBe(202);
      expect(await json(await h.request('POST', '/v1/customers/c-canon/touchpoints', touchpoint({ id: 't1' })))).toEqual({ accepted: 0, duplicates: 1, expired: 0 });
      expect((await h.request('PATCH', '/v1/customers/device-1', { stage: 'retention' })).status).toBe(200);
      expect(await json(await get('c-canon'))).toMatchObject({ touchpointCount: 1, explicitStage: 'retention' });
    });

    it('decisions (POST, GET, batch, stream) decide for the canonical customer and answer with the id asked for', async () => {
      await h.request('PATCH', '/v1/customers/c-canon', { stage: 'retention' });
      const single = await decide('device-1', ['who', 'home-hero']);
      expect(single).toMatchObject({ customerId: 'device-1', stage: 'retention', stageSource: 'explicit' });
      // The customerId fact sees the canonical id.
      expect(single.placements.who.items.map((i: { id: string }) => i.id)).toEqual(['offer-gold']);

      const byQuery = await json(await h.request('GET', '/v1/decisions/device-1?placement=who'));
      expect(byQuery).toMatchObject({ customerId: 'device-1', stage: 'retention', placements: { who: { items: [{ id: 'offer-gold' }] } } });

      const batch = await json(await h.request('POST', '/v1/decisions/batch', { requests: [{ customerId: 'device-1', placements: ['who'] }, { customerId: 'stranger', placements: ['who'] }] }));
      expect(batch.results.map((r: { customerId: string; stage: string }) => [r.customerId, r.stage])).toEqual([['device-1', 'retention'], ['stranger', 'awareness']]);
      expect(batch.results[0].placements.who.items[0].id).toBe('offer-gold');

      const stream = await h.request('POST', '/v1/decisions/stream', '{"customerId":"device-1","placements":["who"]}\n', { 'Content-Type': 'application/x-ndjson' });
      const line = JSON.parse((await stream.text()).trim()) as { customerId: string; stage: string; placements: { who: { items: Array<{ id: string }> } } };
      expect(line).toMatchObject({ customerId: 'device-1', stage: 'retention' });
      expect(line.placements.who.items[0]?.id).toBe('offer-gold');
    });

    it('outcomes for a decision made for one id are accepted for another id of the customer, and land on it', async () => {
      const forAlias = await decide('device-1', ['who']);
      const forCanonical = await decide('c-canon', ['who']);
      const outcome = (decision: { decisionId: string }, customerId: string) => ({ decisionId: decision.decisionId, customerId, placement: 'who', item: 'offer-gold', kind: 'click' });
      const res = await h.request('POST', '/v1/outcomes', { outcomes: [outcome(forAlias, 'c-canon'), outcome(forCanonical, 'device-1')] });
      expect(res.status).toBe(202);
      expect(await json(res)).toEqual({ accepted: 2, duplicates: 0 });
      expect((await json(await get('c-canon'))).outcomes).toHaveLength(2);
      expect(await expectValidationErrors(await h.request('POST', '/v1/outcomes', outcome(forAlias, 'someone-else')))).toEqual(['$.customerId']);
    });

    it('DELETE of an alias erases the canonical customer with all its aliases, caches included', async () => {
      await h.request('POST', '/v1/customers/device-1/touchpoints', touchpoint({ id: 't1' }));
      await alias('c-canon', { alias: 'device-2' });
      // Warm the cache under every id.
      for (const id of ['c-canon', 'device-1', 'device-2']) await decide(id, ['who']);
      expect((await h.request('DELETE', '/v1/customers/device-2')).status).toBe(204);
      for (const id of ['c-canon', 'device-1', 'device-2']) {
        expect((await get(id)).status).toBe(404);
        expect((await decide(id, ['who'])).stage).toBe('awareness');
      }
      expect(await h.store.resolve('device-1')).toBe('device-1');
    });

    it('a merge drops the cached decision profiles of both ids', async () => {
      await h.request('PATCH', '/v1/customers/device-2', { stage: 'consideration' });
      await decide('device-2', ['who']);
      await decide('c-canon', ['who']);
      await alias('c-canon', { alias: 'device-2' });
      expect(await decide('device-2', ['who'])).toMatchObject({ customerId: 'device-2', stage: 'consideration', placements: { who: { items: [{ id: 'offer-gold' }] } } });
      expect((await decide('c-canon', ['who'])).stage).toBe('consideration');
    });
  });
});
