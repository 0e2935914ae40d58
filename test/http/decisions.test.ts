import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createHarness,
  expectProblem,
  expectValidationErrors,
  json,
  prototypeIsClean,
  removeTempDirs,
  STORE_KINDS,
  touchpoint,
  type Harness,
} from './harness.js';

interface Item {
  id: string;
  kind: string;
  rule: string | null;
  [field: string]: unknown;
}

const ids = (items: Item[]) => items.map((i) => i.id);
const servedBy = (items: Item[]) => items.map((i) => [i.id, i.rule]);

describe.each(STORE_KINDS)('decisions (%s store)', (kind) => {
  let h: Harness;

  beforeEach(async () => {
    h = await createHarness({ store: kind });
  });
  afterEach(async () => {
    await h.close();
  });
  afterAll(removeTempDirs);

  const postDecision = (body: unknown) => h.request('POST', '/v1/decisions', body);
  const getDecision = (path: string) => h.request('GET', `/v1/decisions/${path}`);
  const patch = async (id: string, body: unknown) => expect((await h.request('PATCH', `/v1/customers/${id}`, body)).status).toBe(200);
  const addTouchpoint = async (id: string, fields: Record<string, unknown>) =>
    expect((await h.request('POST', `/v1/customers/${id}/touchpoints`, touchpoint(fields))).status).toBe(202);

  async function decide(customerId: string, placements: string[], context?: Record<string, unknown>) {
    const res = await postDecision({ customerId, placements, ...(context ? { context } : {}) });
    expect(res.status).toBe(200);
    return json(res);
  }

  describe('POST /v1/decisions', () => {
    it('answers the decision shape: decisionId, customerId, stage, stageSource, rulesVersion, placements with items and fallback', async () => {
      await patch('c-gold', { attributes: { tier: 'gold', sidebar: true } });
      const res = await postDecision({ customerId: 'c-gold', placements: ['home-hero', 'sidebar'] });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const body = await json(res);
      const rules = await json(await h.request('GET', '/v1/rules'));
      expect(typeof body.decisionId).toBe('string');
      expect(body.decisionId).not.toBe('');
      expect(body).toMatchObject({ customerId: 'c-gold', stage: 'awareness', stageSource: 'default', rulesVersion: rules.version });
      expect(Object.keys(body.placements).sort()).toEqual(['home-hero', 'sidebar']);
      expect(body.placements['home-hero']).toEqual({
        items: [{ id: 'offer-gold', kind: 'offer', rule: 'gold-members', title: 'Gold members save 10%', code: 'GOLD10' }],
        fallback: false,
      });
      expect(body.placements.sidebar.fallback).toBe(false);
      expect(body.placements.sidebar.items[1]).toMatchObject({ id: 'web-only', kind: 'content', rule: 'tie-first', title: 'Only on the website' });
    });

    it('gives each decision its own decisionId', async () => {
      const first = await decide('c-1', ['home-hero']);
      const second = await decide('c-1', ['home-hero']);
      expect(first.decisionId).not.toBe(second.decisionId);
    });

    it('treats a customer never seen as a new visitor: first stage, default source, fallback items', async () => {
      const body = await decide('c-never-seen', ['home-hero', 'sidebar']);
      expect(body).toMatchObject({ customerId: 'c-never-seen', stage: 'awareness', stageSource: 'default' });
      expect(body.placements['home-hero']).toEqual({
        items: [{ id: 'hero-welcome', kind: 'content', rule: null, title: 'Welcome', url: 'https://example.com/' }],
        fallback: true,
      });
    });

    it('orders matching rules by priority, ties in file order, skipping duplicates and inactive items, up to maxItems', async () => {
      await patch('c-1', { attributes: { sidebar: true } });
      const plain = await decide('c-1', ['sidebar']);
      // tie-first: expired-offer (inactive, skipped), web-only, app-only; tie-second: web-only (duplicate), side-note.
      // The disabled rule (priority 100) never serves.
      expect(servedBy(plain.placements.sidebar.items)).toEqual([
        ['web-only', 'tie-first'],
        ['app-only', 'tie-first'],
        ['side-note', 'tie-second'],
      ]);
      await patch('c-1', { attributes: { tier: 'gold' } });
      const gold = await decide('c-1', ['sidebar']);
      // gold-first (priority 20) comes first; maxItems 3 cuts side-note.
      expect(servedBy(gold.placements.sidebar.items)).toEqual([
        ['offer-gold', 'gold-first'],
        ['web-only', 'tie-first'],
        ['app-only', 'tie-first'],
      ]);
    });

    it('serves only the highest-priority match when maxItems is 1', async () => {
      await patch('c-1', { attributes: { tier: 'gold' }, stage: 'retention' });
      const body = await decide('c-1', ['home-hero'], { device: 'mobile' });
      expect(servedBy(body.placements['home-hero'].items)).toEqual([['hero-mobile', 'mobile-device']]);
    });

    it('filters channel-restricted items by context.channel, in rules and in the fallback', async () => {
      await patch('c-1', { attributes: { sidebar: true } });
      expect(ids((await decide('c-1', ['sidebar'], { channel: 'web' })).placements.sidebar.items)).toEqual(['web-only', 'side-note']);
      expect(ids((await decide('c-1', ['sidebar'], { channel: 'app' })).placements.sidebar.items)).toEqual(['app-only', 'side-note']);
      expect(ids((await decide('c-1', ['sidebar'], { channel: 'email' })).placements.sidebar.items)).toEqual(['side-note']);

      const newVisitorWeb = await decide('c-2', ['email-banner'], { channel: 'web' });
      expect(newVisitorWeb.placements['email-banner']).toEqual({
        items: [{ id: 'email-fallback', kind: 'content', rule: null, title: 'Our newsletter' }],
        fallback: true,
      });
      const newVisitorApp = await decide('c-2', ['email-banner'], { channel: 'app' });
      expect(servedBy(newVisitorApp.placements['email-banner'].items)).toEqual([
        ['app-only', null],
        ['email-fallback', null],
      ]);
    });

    it('serves a channel-restricted item when the request gives no channel', async () => {
      const body = await decide('c-2', ['email-banner']);
      expect(ids(body.placements['email-banner'].items)).toEqual(['app-only', 'email-fallback']);
    });

    it('marks fallback items rule: null and the placement fallback: true, skipping inactive fallback items', async () => {
      const body = await decide('c-1', ['sidebar']);
      expect(body.placements.sidebar).toEqual({
        items: [{ id: 'hero-welcome', kind: 'content', rule: null, title: 'Welcome', url: 'https://example.com/' }],
        fallback: true,
      });
    });

    it('falls back when the matching rules leave no item after the channel filter', async () => {
      const noChannel = await decide('c-1', ['email-banner'], { promo: 'app' });
      expect(noChannel.placements['email-banner']).toMatchObject({ items: [{ id: 'app-only', rule: 'app-promo' }], fallback: false });
      const onWeb = await decide('c-1', ['email-banner'], { promo: 'app', channel: 'web' });
      expect(onWeb.placements['email-banner']).toMatchObject({ items: [{ id: 'email-fallback', rule: null }], fallback: true });
    });

    it('infers the stage from touchpoints and uses it in placement rules', async () => {
      await addTouchpoint('c-1', { type: 'page_view' });
      const browsing = await decide('c-1', ['home-hero']);
      expect(browsing).toMatchObject({ stage: 'consideration', stageSource: 'inferred' });
      expect(servedBy(browsing.placements['home-hero'].items)).toEqual([['hero-consideration', 'considering']]);

      await addTouchpoint('c-1', { type: 'purchase' });
      const bought = await decide('c-1', ['home-hero']);
      expect(bought).toMatchObject({ stage: 'retention', stageSource: 'inferred' });
      expect(servedBy(bought.placements['home-hero'].items)).toEqual([['hero-retention', 'customers']]);
    });

    it('uses an explicit stage in placement rules (stageAtLeast)', async () => {
      await patch('c-1', { stage: 'advocacy' });
      const body = await decide('c-1', ['home-hero']);
      expect(body).toMatchObject({ stage: 'advocacy', stageSource: 'explicit' });
      expect(ids(body.placements['home-hero'].items)).toEqual(['hero-retention']);
    });

    it('sees a profile change made after an earlier (cached) decision', async () => {
      expect(ids((await decide('c-1', ['home-hero'])).placements['home-hero'].items)).toEqual(['hero-welcome']);
      await patch('c-1', { attributes: { tier: 'gold' } });
      expect(ids((await decide('c-1', ['home-hero'])).placements['home-hero'].items)).toEqual(['offer-gold']);
      await addTouchpoint('c-1', { type: 'page_view' });
      expect((await decide('c-1', ['home-hero'])).stage).toBe('consideration');
    });

    it('answers 400 naming every unknown placement', async () => {
      const res = await postDecision({ customerId: 'c-1', placements: ['home-hero', 'nowhere', 'sidebar', 'also-nowhere'] });
      const problem = await expectProblem(res, 400);
      expect(problem.detail).toContain('nowhere');
      expect(problem.detail).toContain('also-nowhere');
      expect(problem.errors?.map((e) => e.path)).toEqual(['$.placements[1]', '$.placements[3]']);
      expect(problem.errors?.map((e) => e.message).join(' ')).toContain('also-nowhere');
    });

    it('names a repeated unknown placement at each place it is asked, and once in the detail', async () => {
      const problem = await expectProblem(await postDecision({ customerId: 'c-1', placements: ['nowhere', 'home-hero', 'nowhere'] }), 400);
      expect(problem.type).toBe('/problems/unknown-placement');
      expect(problem.detail).toMatch(/^unknown placement: nowhere; the rules define /);
      expect(problem.errors?.map((e) => e.path)).toEqual(['$.placements[0]', '$.placements[2]']);
      const byQuery = await expectProblem(await getDecision('c-1?placement=home-hero&placement=nowhere&placement=nowhere'), 400);
      expect(byQuery.errors?.map((e) => e.path)).toEqual(['$.placements[1]', '$.placements[2]']);
    });

    it('rejects 0 placements and 21 placements with 400 at $.placements', async () => {
      expect(await expectValidationErrors(await postDecision({ customerId: 'c-1', placements: [] }))).toEqual(['$.placements']);
      const many = Array.from({ length: 21 }, () => 'home-hero');
      expect(await expectValidationErrors(await postDecision({ customerId: 'c-1', placements: many }))).toEqual(['$.placements']);
    });

    it('accepts 20 placements', async () => {
      const twenty = Array.from({ length: 20 }, (_, i) => ['home-hero', 'sidebar', 'email-banner'][i % 3] as string);
      const body = await decide('c-1', twenty);
      expect(Object.keys(body.placements).sort()).toEqual(['email-banner', 'home-hero', 'sidebar']);
    });

    it.each([
      ['a missing customerId', { placements: ['home-hero'] }, '$.customerId'],
      ['a numeric customerId', { customerId: 42, placements: ['home-hero'] }, '$.customerId'],
      ['a customerId with a space', { customerId: 'a b', placements: ['home-hero'] }, '$.customerId'],
      ['a 129-character customerId', { customerId: 'x'.repeat(129), placements: ['home-hero'] }, '$.customerId'],
      ['missing placements', { customerId: 'c-1' }, '$.placements'],
      ['placements as a string', { customerId: 'c-1', placements: 'home-hero' }, '$.placements'],
      ['a placement that is not a slug', { customerId: 'c-1', placements: ['Home Hero'] }, '$.placements[0]'],
      ['a placement that is a number', { customerId: 'c-1', placements: [1] }, '$.placements[0]'],
      ['context as an array', { customerId: 'c-1', placements: ['home-hero'], context: ['web'] }, '$.context'],
      ['context as a string', { customerId: 'c-1', placements: ['home-hero'], context: 'web' }, '$.context'],
      ['explain as a string', { customerId: 'c-1', placements: ['home-hero'], explain: 'yes' }, '$.explain'],
      ['an unknown key', { customerId: 'c-1', placements: ['home-hero'], channel: 'web' }, '$.channel'],
      ['a constructor key in context', { customerId: 'c-1', placements: ['home-hero'], context: { constructor: { prototype: {} } } }, '$.context.constructor'],
    ])('rejects %s with 400 naming the field', async (_, body, path) => {
      expect(await expectValidationErrors(await postDecision(body))).toContain(path);
    });

    it('rejects a "__proto__" key in context with 400 and pollutes nothing', async () => {
      const res = await postDecision('{"customerId":"c-1","placements":["home-hero"],"context":{"__proto__":{"polluted":true}}}');
      const paths = await expectValidationErrors(res);
      expect(paths[0]).toMatch(/^\$\.context/);
      expect(prototypeIsClean()).toBe(true);
    });

    it('with explain: true, each placement carries a trace naming every rule of the placement', async () => {
      await patch('c-1', { attributes: { tier: 'gold' } });
      const body = await json(await postDecision({ customerId: 'c-1', placements: ['home-hero'], explain: true }));
      const placement = body.placements['home-hero'];
      expect(placement.items.map((i: Item) => i.id)).toEqual(['offer-gold']);
      expect(Array.isArray(placement.trace)).toBe(true);
      const traced = JSON.stringify(placement.trace);
      for (const rule of ['mobile-device', 'gold-members', 'customers', 'considering']) expect(traced).toContain(rule);
    });
  });

  describe('GET /v1/decisions/{customerId}', () => {
    it('answers the same decision as POST', async () => {
      await patch('c-1', { attributes: { tier: 'gold', sidebar: true } });
      const viaGet = await getDecision('c-1?placement=home-hero&placement=sidebar&channel=web');
      expect(viaGet.status).toBe(200);
      const { decisionId: getId, ...getBody } = await json(viaGet);
      const { decisionId: postId, ...postBody } = await decide('c-1', ['home-hero', 'sidebar'], { channel: 'web' });
      expect(typeof getId).toBe('string');
      expect(typeof postId).toBe('string');
      expect(getBody).toEqual(postBody);
    });

    it('turns other query parameters into string fields of context (a rule on $.device matches)', async () => {
      const mobile = await json(await getDecision('c-1?placement=home-hero&device=mobile'));
      expect(servedBy(mobile.placements['home-hero'].items)).toEqual([['hero-mobile', 'mobile-device']]);
      const desktop = await json(await getDecision('c-1?placement=home-hero&device=desktop'));
      expect(servedBy(desktop.placements['home-hero'].items)).toEqual([['hero-welcome', null]]);
    });

    it('filters by ?channel= like context.channel', async () => {
      await patch('c-1', { attributes: { sidebar: true } });
      const body = await json(await getDecision('c-1?placement=sidebar&channel=app&device=mobile'));
      expect(ids(body.placements.sidebar.items)).toEqual(['app-only', 'side-note']);
    });

    it('works for a customer never seen', async () => {
      const res = await getDecision('c-new?placement=home-hero');
      expect(res.status).toBe(200);
      expect(await json(res)).toMatchObject({ customerId: 'c-new', stage: 'awareness', stageSource: 'default', placements: { 'home-hero': { fallback: true } } });
    });

    it('answers 400 without a placement', async () => {
      expect(await expectValidationErrors(await getDecision('c-1'))).toEqual(['$.placements']);
      expect(await expectValidationErrors(await getDecision('c-1?channel=web'))).toEqual(['$.placements']);
    });

    it('answers 400 naming an unknown placement, and for a placement that is not a slug', async () => {
      const problem = await expectProblem(await getDecision('c-1?placement=home-hero&placement=nowhere'), 400);
      expect(problem.detail).toContain('nowhere');
      await expectValidationErrors(await getDecision('c-1?placement=Home'));
      await expectValidationErrors(await getDecision('c-1?placement='));
    });

    it('answers 400 for 21 placements', async () => {
      const query = Array.from({ length: 21 }, () => 'placement=home-hero').join('&');
      expect(await expectValidationErrors(await getDecision(`c-1?${query}`))).toEqual(['$.placements']);
    });

    it.each(['__proto__', 'constructor', 'prototype'])('answers 400 for a query parameter named %s and pollutes nothing', async (name) => {
      const res = await getDecision(`c-1?placement=home-hero&${name}=x&${name}[polluted]=1`);
      await expectValidationErrors(res);
      expect(prototypeIsClean()).toBe(true);
    });

    it('answers 400 for an invalid customer id', async () => {
      expect(await expectValidationErrors(await getDecision(`${'x'.repeat(129)}?placement=home-hero`))).toEqual(['$.customerId']);
      expect(await expectValidationErrors(await getDecision('a%20b?placement=home-hero'))).toEqual(['$.customerId']);
    });
  });

  describe('POST /v1/decisions/batch', () => {
    const batch = (requests: unknown) => h.request('POST', '/v1/decisions/batch', { requests });

    it('says what is wrong with a field inside a batch, as the single endpoint does', async () => {
      const body = await json(await batch([{ customerId: 42, placements: ['home-hero'] }, 7]));
      expect(body.results[0].errors).toEqual([{ path: '$.requests[0].customerId', message: 'must be a string, not number 42' }]);
      expect(body.results[1].errors).toEqual([{ path: '$.requests[1]', message: 'must be an object, not number 7' }]);
    });

    it('answers the results in request order, a bad request becoming a problem in its place', async () => {
      await patch('c-gold', { attributes: { tier: 'gold' } });
      const res = await batch([
        { customerId: 'c-gold', placements: ['home-hero'] },
        { customerId: 'c-new', placements: ['home-hero', 'email-banner'], context: { channel: 'web' } },
        { customerId: 'c-gold', placements: ['nowhere'] },
        { customerId: 'c-gold', placements: ['home-hero'], context: { device: 'mobile' } },
      ]);
      expect(res.status).toBe(200);
      const { results } = await json(res);
      expect(results).toHaveLength(4);
      expect(results[0]).toMatchObject({ customerId: 'c-gold', placements: { 'home-hero': { items: [{ id: 'offer-gold', rule: 'gold-members' }] } } });
      expect(results[1]).toMatchObject({ customerId: 'c-new', stage: 'awareness', stageSource: 'default' });
      expect(ids(results[1].placements['email-banner'].items)).toEqual(['email-fallback']);
      expect(results[2]).toMatchObject({ status: 400 });
      expect(typeof results[2].type).toBe('string');
      expect(typeof results[2].title).toBe('string');
      expect(results[2].detail).toContain('nowhere');
      expect(results[2].errors.map((e: { path: string }) => e.path)).toEqual(['$.requests[2].placements[0]']);
      expect(results[2].decisionId).toBeUndefined();
      expect(results[3]).toMatchObject({ placements: { 'home-hero': { items: [{ id: 'hero-mobile' }] } } });
      const decisionIds = [results[0], results[1], results[3]].map((r: { decisionId: string }) => r.decisionId);
      expect(new Set(decisionIds).size).toBe(3);
    });

    it.each([
      ['null', null],
      ['a string', 'c-1'],
      ['an array', []],
      ['an empty object', {}],
      ['an invalid customerId', { customerId: 'a b', placements: ['home-hero'] }],
      ['no placements', { customerId: 'c-1', placements: [] }],
      ['an unknown key', { customerId: 'c-1', placements: ['home-hero'], extra: true }],
      ['a constructor key in context', { customerId: 'c-1', placements: ['home-hero'], context: { constructor: {} } }],
    ])('turns a request that is %s into a 400 problem in place, located under $.requests[1]', async (_, bad) => {
      const res = await batch([
        { customerId: 'c-1', placements: ['home-hero'] },
        bad,
        { customerId: 'c-2', placements: ['sidebar'] },
      ]);
      expect(res.status).toBe(200);
      const { results } = await json(res);
      expect(results).toHaveLength(3);
      expect(results[0]).toMatchObject({ customerId: 'c-1' });
      expect(results[1]).toMatchObject({ status: 400 });
      expect(results[1].errors.length).toBeGreaterThan(0);
      for (const e of results[1].errors) expect(e.path.startsWith('$.requests[1]')).toBe(true);
      expect(results[2]).toMatchObject({ customerId: 'c-2' });
    });

    it('rejects 0 requests and 1001 requests with 400 at $.requests', async () => {
      expect(await expectValidationErrors(await batch([]))).toEqual(['$.requests']);
      const many = Array.from({ length: 1001 }, (_, i) => ({ customerId: `c-${i}`, placements: ['home-hero'] }));
      expect(await expectValidationErrors(await batch(many))).toEqual(['$.requests']);
    });

    it('answers 1000 requests, in order, known and unknown customers mixed', async () => {
      for (let i = 0; i < 10; i++) await patch(`c-${i * 100}`, { attributes: { tier: 'gold' } });
      const requests = Array.from({ length: 1000 }, (_, i) => ({ customerId: `c-${i}`, placements: ['home-hero'] }));
      const res = await batch(requests);
      expect(res.status).toBe(200);
      const { results } = await json(res);
      expect(results).toHaveLength(1000);
      results.forEach((result: { customerId: string; placements: Record<string, { items: Item[] }> }, i: number) => {
        expect(result.customerId).toBe(`c-${i}`);
        expect(ids(result.placements['home-hero']!.items)).toEqual([i % 100 === 0 ? 'offer-gold' : 'hero-welcome']);
      });
    });

    it.each([
      ['requests missing', {}],
      ['requests as an object', { requests: {} }],
      ['requests as a string', { requests: 'all' }],
      ['an unknown key', { requests: [{ customerId: 'c-1', placements: ['home-hero'] }], parallel: true }],
    ])('rejects a batch with %s with 400', async (_, body) => {
      await expectValidationErrors(await h.request('POST', '/v1/decisions/batch', body));
    });
  });
});
