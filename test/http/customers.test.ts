import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createHarness,
  DAY_MS,
  expectProblem,
  expectValidationErrors,
  iso,
  json,
  MINUTE_MS,
  prototypeIsClean,
  removeTempDirs,
  STORE_KINDS,
  touchpoint,
  type Harness,
} from './harness.js';

describe.each(STORE_KINDS)('customer profiles (%s store)', (kind) => {
  let h: Harness;

  beforeEach(async () => {
    h = await createHarness({ store: kind });
  });
  afterEach(async () => {
    await h.close();
  });
  afterAll(removeTempDirs);

  const patch = (id: string, body: unknown) => h.request('PATCH', `/v1/customers/${id}`, body);
  const get = (id: string) => h.request('GET', `/v1/customers/${id}`);
  const del = (id: string) => h.request('DELETE', `/v1/customers/${id}`);
  const postTouchpoints = (id: string, body: unknown) => h.request('POST', `/v1/customers/${id}/touchpoints`, body);
  const decide = async (id: string, placements: string[], context?: Record<string, unknown>) => {
    const res = await h.request('POST', '/v1/decisions', { customerId: id, placements, ...(context ? { context } : {}) });
    expect(res.status).toBe(200);
    return json(res);
  };

  describe('PATCH /v1/customers/{id}', () => {
    it('creates a missing profile and answers 200 with it', async () => {
      const res = await patch('c-new', { attributes: { tier: 'silver' } });
      expect(res.status).toBe(200);
      const body = await json(res);
      expect(body).toMatchObject({
        customerId: 'c-new',
        stage: 'awareness',
        stageSource: 'default',
        attributes: { tier: 'silver' },
        touchpointCount: 0,
        touchpoints: [],
      });
      const read = await json(await get('c-new'));
      expect(read).toMatchObject({ customerId: 'c-new', attributes: { tier: 'silver' } });
    });

    it('creates the profile with an empty patch {}', async () => {
      const res = await patch('c-empty', {});
      expect(res.status).toBe(200);
      expect(await json(res)).toMatchObject({ customerId: 'c-empty', attributes: {}, touchpointCount: 0 });
      expect((await get('c-empty')).status).toBe(200);
    });

    it('merges attributes as a JSON merge patch: nested objects merge, null deletes, arrays and scalars replace', async () => {
      await patch('c-1', { attributes: { tier: 'silver', prefs: { email: true, sms: true, deep: { a: 1, b: 2 } }, tags: ['a', 'b'], keep: 1 } });
      const res = await patch('c-1', { attributes: { tier: null, prefs: { sms: null, push: false, deep: { b: null, c: 3 } }, tags: ['c'], absent: null } });
      expect(res.status).toBe(200);
      const expected = { prefs: { email: true, push: false, deep: { a: 1, c: 3 } }, tags: ['c'], keep: 1 };
      expect((await json(res)).attributes).toEqual(expected);
      expect((await json(await get('c-1'))).attributes).toEqual(expected);
    });

    it('replaces an object with a scalar and a scalar with an object', async () => {
      await patch('c-1', { attributes: { a: { x: 1 }, b: 5 } });
      const body = await json(await patch('c-1', { attributes: { a: 'flat', b: { y: 2 } } }));
      expect(body.attributes).toEqual({ a: 'flat', b: { y: 2 } });
    });

    it('sets an explicit stage (stageSource "explicit") that wins over the inferred one, and keeps it across attribute patches', async () => {
      await postTouchpoints('c-1', touchpoint({ type: 'purchase' })); // inferred: retention
      expect((await json(await get('c-1'))).stageSource).toBe('inferred');
      const res = await patch('c-1', { stage: 'consideration' });
      expect(res.status).toBe(200);
      expect(await json(res)).toMatchObject({ stage: 'consideration', stageSource: 'explicit' });
      await patch('c-1', { attributes: { tier: 'bronze' } });
      expect(await json(await get('c-1'))).toMatchObject({ stage: 'consideration', stageSource: 'explicit' });
      expect(await decide('c-1', ['home-hero'])).toMatchObject({ stage: 'consideration', stageSource: 'explicit' });
    });

    it('clearing the stage with null goes back to the inferred stage', async () => {
      await postTouchpoints('c-1', touchpoint({ type: 'page_view' })); // inferred: consideration
      await patch('c-1', { stage: 'advocacy' });
      const res = await patch('c-1', { stage: null });
      expect(res.status).toBe(200);
      expect(await json(res)).toMatchObject({ stage: 'consideration', stageSource: 'inferred' });
      expect(await decide('c-1', ['home-hero'])).toMatchObject({ stage: 'consideration', stageSource: 'inferred' });
    });

    it('clearing the stage with null goes back to the default (first) stage when no stage rule matches', async () => {
      await patch('c-1', { stage: 'purchase' });
      expect(await json(await patch('c-1', { stage: null }))).toMatchObject({ stage: 'awareness', stageSource: 'default' });
    });

    it.each(['checkout', 'Purchase', ''])('rejects the unknown stage %j with 400 at $.stage and creates nothing', async (stage) => {
      expect(await expectValidationErrors(await patch('c-1', { stage }))).toEqual(['$.stage']);
      await expectProblem(await get('c-1'), 404);
    });

    it.each([
      ['attributes as an array', { attributes: [] }, '$.attributes'],
      ['attributes as a string', { attributes: 'gold' }, '$.attributes'],
      ['attributes as a number', { attributes: 3 }, '$.attributes'],
      ['stage as a number', { stage: 2 }, '$.stage'],
      ['stage as an object', { stage: { name: 'purchase' } }, '$.stage'],
      ['stage as an array', { stage: ['purchase'] }, '$.stage'],
      ['stage as a boolean', { stage: true }, '$.stage'],
      ['an unknown key', { tier: 'gold' }, '$.tier'],
      ['an attribute value that is not JSON-safe (1e400)', '{"attributes":{"n":1e400}}', '$.attributes.n'],
    ])('rejects %s with 400 naming the field, and creates nothing', async (_, body, path) => {
      const paths = await expectValidationErrors(await patch('c-1', body));
      expect(paths).toContain(path);
      await expectProblem(await get('c-1'), 404);
    });

    it('leaves an existing profile unchanged when a patch is rejected', async () => {
      await patch('c-1', { attributes: { tier: 'gold' }, stage: 'purchase' });
      await expectValidationErrors(await patch('c-1', { attributes: { tier: 'silver' }, stage: 'nope' }));
      expect(await json(await get('c-1'))).toMatchObject({ attributes: { tier: 'gold' }, stage: 'purchase', stageSource: 'explicit' });
    });

    it.each([
      ['constructor', '{"attributes":{"constructor":{"prototype":{"polluted":true}}}}', '$.attributes.constructor'],
      ['prototype', '{"attributes":{"a":{"prototype":{"polluted":true}}}}', '$.attributes.a.prototype'],
      ['constructor in an array', '{"attributes":{"list":[{"constructor":{"prototype":{"polluted":true}}}]}}', '$.attributes.list[0].constructor'],
    ])('rejects a %s key in attributes with 400 at its path and pollutes nothing', async (_, body, path) => {
      expect(await expectValidationErrors(await patch('c-1', body))).toEqual([path]);
      expect(prototypeIsClean()).toBe(true);
      await expectProblem(await get('c-1'), 404);
    });

    it('rejects a "__proto__" key in attributes with 400 and pollutes nothing', async () => {
      const res = await patch('c-1', '{"attributes":{"__proto__":{"polluted":true}}}');
      const paths = await expectValidationErrors(res);
      expect(paths[0]).toMatch(/^\$\.attributes/);
      expect(prototypeIsClean()).toBe(true);
      await expectProblem(await get('c-1'), 404);
    });

    it('rejects a nested "__proto__" key in attributes with 400', async () => {
      await patch('c-1', { attributes: { prefs: { email: true } } });
      const res = await patch('c-1', '{"attributes":{"prefs":{"__proto__":{"polluted":true}}}}');
      await expectValidationErrors(res);
      expect(prototypeIsClean()).toBe(true);
    });

    it('answers 4xx, never 5xx, when a patch would grow the attributes without bound, and keeps the profile', async () => {
      const chunk = 'x'.repeat(40 * 1024);
      expect((await patch('c-1', { attributes: { a: chunk } })).status).toBe(200);
      const res = await patch('c-1', { attributes: { b: chunk } });
      await expectProblem(res, 400);
      expect(Object.keys((await json(await get('c-1'))).attributes)).toEqual(['a']);
    });

    it('rejects an invalid customer id in the path with 400', async () => {
      expect(await expectValidationErrors(await patch('a%20b', { attributes: {} }))).toEqual(['$.customerId']);
      expect(await expectValidationErrors(await patch('x'.repeat(129), { attributes: {} }))).toEqual(['$.customerId']);
    });
  });

  describe('GET /v1/customers/{id}', () => {
    it('answers 404 problem+json for a customer never seen', async () => {
      const problem = await expectProblem(await get('c-unknown'), 404);
      expect(problem.detail).toContain('c-unknown');
    });

    it('shows { customerId, stage, stageSource, attributes, touchpointCount, touchpoints } with the newest touchpoint first', async () => {
      await postTouchpoints('c-1', {
        touchpoints: [
          touchpoint({ id: 'middle', type: 'page_view', at: iso(h.clock, -2 * DAY_MS) }),
          touchpoint({ id: 'newest', type: 'cart_add', channel: 'app', at: iso(h.clock, -MINUTE_MS), properties: { sku: 'B-1' } }),
          touchpoint({ id: 'oldest', type: 'email_open', channel: 'email', at: iso(h.clock, -9 * DAY_MS) }),
        ],
      });
      await postTouchpoints('c-1', touchpoint({ type: 'page_view', at: iso(h.clock, -5 * DAY_MS) }));
      await patch('c-1', { attributes: { tier: 'gold' } });
      const res = await get('c-1');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const body = await json(res);
      expect(body).toMatchObject({
        customerId: 'c-1',
        stage: 'purchase',
        stageSource: 'inferred',
        attributes: { tier: 'gold' },
        touchpointCount: 4,
      });
      expect(body.touchpoints).toEqual([
        { id: 'newest', type: 'cart_add', channel: 'app', at: iso(h.clock, -MINUTE_MS), properties: { sku: 'B-1' } },
        { id: 'middle', type: 'page_view', channel: 'web', at: iso(h.clock, -2 * DAY_MS) },
        { type: 'page_view', channel: 'web', at: iso(h.clock, -5 * DAY_MS) },
        { id: 'oldest', type: 'email_open', channel: 'email', at: iso(h.clock, -9 * DAY_MS) },
      ]);
    });

    it('a profile created by touchpoints alone has empty attributes and the default stage', async () => {
      await postTouchpoints('c-1', touchpoint({ type: 'email_open', channel: 'email' }));
      expect(await json(await get('c-1'))).toMatchObject({ customerId: 'c-1', stage: 'awareness', stageSource: 'default', attributes: {}, touchpointCount: 1 });
    });

    it('rejects an invalid customer id with 400', async () => {
      expect(await expectValidationErrors(await get('bad%20id'))).toEqual(['$.customerId']);
    });
  });

  describe('customer ids and concurrency', () => {
    it.each(['__proto__', 'constructor', 'hasOwnProperty'])(
      'treats the id %j (an Object.prototype name) as an ordinary customer through its whole life',
      async (id) => {
        await expectProblem(await get(id), 404);
        expect((await decide(id, ['home-hero'])).placements['home-hero'].fallback).toBe(true);
        await patch(id, { attributes: { tier: 'gold' } });
        expect((await postTouchpoints(id, touchpoint({ type: 'page_view' }))).status).toBe(202);
        const body = await decide(id, ['home-hero']);
        expect(body).toMatchObject({ customerId: id, stage: 'consideration', placements: { 'home-hero': { items: [{ id: 'offer-gold' }] } } });
        expect(await json(await get(id))).toMatchObject({ customerId: id, attributes: { tier: 'gold' }, touchpointCount: 1 });
        expect((await del(id)).status).toBe(204);
        await expectProblem(await get(id), 404);
        expect(prototypeIsClean()).toBe(true);
      },
    );

    it('stores a touchpoint id once when the same touchpoint arrives in 20 concurrent requests', async () => {
      const answers = await Promise.all(
        Array.from({ length: 20 }, () => postTouchpoints('c-1', touchpoint({ id: 'tp-retried' })).then((res) => json(res))),
      );
      const accepted = answers.reduce((sum: number, a: { accepted: number }) => sum + a.accepted, 0);
      const duplicates = answers.reduce((sum: number, a: { duplicates: number }) => sum + a.duplicates, 0);
      expect(accepted).toBe(1);
      expect(duplicates).toBe(19);
      expect((await json(await get('c-1'))).touchpointCount).toBe(1);
    });

    it('a decision after concurrent writes and decisions sees every write', async () => {
      await Promise.all([
        ...Array.from({ length: 10 }, (_, i) => postTouchpoints('c-1', touchpoint({ id: `tp-${i}`, type: 'page_view' }))),
        ...Array.from({ length: 10 }, () => h.request('POST', '/v1/decisions', { customerId: 'c-1', placements: ['home-hero'] })),
        patch('c-1', { attributes: { tier: 'gold' } }),
      ]);
      const body = await decide('c-1', ['home-hero']);
      expect(body).toMatchObject({ stage: 'consideration', stageSource: 'inferred' });
      expect(body.placements['home-hero'].items).toMatchObject([{ id: 'offer-gold' }]);
      expect((await json(await get('c-1'))).touchpointCount).toBe(10);
    });
  });

  describe('DELETE /v1/customers/{id}', () => {
    it('answers 204 with no body; afterwards GET is 404', async () => {
      await patch('c-1', { attributes: { tier: 'gold' } });
      const res = await del('c-1');
      expect(res.status).toBe(204);
      expect(await res.text()).toBe('');
      await expectProblem(await get('c-1'), 404);
    });

    it('clears the cache: a decision after the delete sees a new visitor although the profile was cached by an earlier decision', async () => {
      await patch('c-1', { attributes: { tier: 'gold' }, stage: 'retention' });
      await postTouchpoints('c-1', touchpoint({ type: 'purchase' }));
      const before = await decide('c-1', ['home-hero']);
      expect(before).toMatchObject({ stage: 'retention', stageSource: 'explicit' });
      expect(before.placements['home-hero'].items.map((i: { id: string }) => i.id)).toEqual(['offer-gold']);
      // Read again so the profile is certainly served from the cache.
      await decide('c-1', ['home-hero']);

      expect((await del('c-1')).status).toBe(204);

      const after = await decide('c-1', ['home-hero']);
      expect(after).toMatchObject({ customerId: 'c-1', stage: 'awareness', stageSource: 'default' });
      expect(after.placements['home-hero']).toMatchObject({ items: [{ id: 'hero-welcome', rule: null }], fallback: true });
      await expectProblem(await get('c-1'), 404);
    });

    it('forgets touchpoint ids: the same id is accepted again after a delete', async () => {
      await postTouchpoints('c-1', touchpoint({ id: 'tp-1' }));
      await del('c-1');
      expect(await json(await postTouchpoints('c-1', touchpoint({ id: 'tp-1' })))).toEqual({ accepted: 1, duplicates: 0, expired: 0 });
      expect((await json(await get('c-1'))).touchpointCount).toBe(1);
    });

    it('leaves other customers alone', async () => {
      await patch('c-1', { attributes: { n: 1 } });
      await patch('c-2', { attributes: { n: 2 } });
      await del('c-1');
      expect((await json(await get('c-2'))).attributes).toEqual({ n: 2 });
    });

    it('answers 404 problem+json for a customer never seen, and for a second delete', async () => {
      await expectProblem(await del('c-unknown'), 404);
      await patch('c-1', {});
      expect((await del('c-1')).status).toBe(204);
      await expectProblem(await del('c-1'), 404);
    });

    it('rejects an invalid customer id with 400', async () => {
      expect(await expectValidationErrors(await del('x'.repeat(129)))).toEqual(['$.customerId']);
    });
  });
});
