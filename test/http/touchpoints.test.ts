import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createProfileStore } from '../../src/composition.js';
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
  type HarnessOptions,
} from './harness.js';

describe.each(STORE_KINDS)('POST /v1/customers/{id}/touchpoints (%s store)', (kind) => {
  let h: Harness;

  async function setup(options: HarnessOptions = {}): Promise<Harness> {
    h = await createHarness({ store: kind, ...options });
    return h;
  }

  async function post(customerId: string, body: unknown): Promise<Response> {
    return h.request('POST', `/v1/customers/${customerId}/touchpoints`, body);
  }

  async function profile(customerId: string) {
    const res = await h.request('GET', `/v1/customers/${customerId}`);
    expect(res.status).toBe(200);
    return json(res);
  }

  async function neverSeen(customerId: string): Promise<void> {
    await expectProblem(await h.request('GET', `/v1/customers/${customerId}`), 404);
  }

  afterEach(async () => {
    await h?.close();
  });
  afterAll(removeTempDirs);

  describe('accepting touchpoints', () => {
    it('accepts a single touchpoint with 202 {accepted: 1, duplicates: 0} and shows it on the profile', async () => {
      await setup();
      const res = await post('c-1', touchpoint({ id: 'tp-1', type: 'page_view', channel: 'web', properties: { url: '/boots' } }));
      expect(res.status).toBe(202);
      expect(await json(res)).toEqual({ accepted: 1, duplicates: 0, expired: 0 });
      const body = await profile('c-1');
      expect(body.touchpointCount).toBe(1);
      expect(body.touchpoints).toEqual([
        { id: 'tp-1', type: 'page_view', channel: 'web', at: iso(h.clock), properties: { url: '/boots' } },
      ]);
    });

    it('accepts { touchpoints: [one] }', async () => {
      await setup();
      const res = await post('c-1', { touchpoints: [touchpoint({ type: 'email_open', channel: 'email' })] });
      expect(res.status).toBe(202);
      expect(await json(res)).toEqual({ accepted: 1, duplicates: 0, expired: 0 });
      expect((await profile('c-1')).touchpoints).toMatchObject([{ type: 'email_open', channel: 'email' }]);
    });

    it('accepts { touchpoints: [1000 items] } and stores them all', async () => {
      await setup();
      const touchpoints = Array.from({ length: 1000 }, (_, i) => touchpoint({ id: `tp-${i}`, at: iso(h.clock, -i * 1000) }));
      const res = await post('c-1', { touchpoints });
      expect(res.status).toBe(202);
      expect(await json(res)).toEqual({ accepted: 1000, duplicates: 0, expired: 0 });
      const body = await profile('c-1');
      expect(body.touchpointCount).toBe(1000);
      expect(body.touchpoints).toHaveLength(1000);
    });

    it.each([
      ['0 items', 0],
      ['1001 items', 1001],
    ])('rejects { touchpoints: [%s] } with 400 and stores nothing', async (_, count) => {
      await setup();
      const touchpoints = Array.from({ length: count }, (_, i) => touchpoint({ id: `tp-${i}` }));
      const paths = await expectValidationErrors(await post('c-1', { touchpoints }));
      expect(paths).toContain('$.touchpoints');
      await neverSeen('c-1');
    });

    it.runIf(kind === 'sqlite')('stores the touchpoint before answering (a second connection to the same database sees it)', async () => {
      await setup();
      if (h.sqlitePath === null) throw new Error('a sqlite harness has a database file');
      expect((await post('c-1', touchpoint({ id: 'tp-durable' }))).status).toBe(202);
      const other = createProfileStore({
        store: 'sqlite',
        sqlitePath: h.sqlitePath,
        retentionDays: 365,
        maxTouchpointsPerProfile: 1000,
        cacheMax: 0,
        now: h.clock.now,
      });
      try {
        const seen = await other.get('c-1');
        expect(seen?.touchpoints.map((tp) => tp.id)).toEqual(['tp-durable']);
      } finally {
        await other.close();
      }
    });
  });

  describe('idempotent ids', () => {
    it('does not store a touchpoint whose id was already stored for the customer', async () => {
      await setup();
      expect(await json(await post('c-1', touchpoint({ id: 'tp-1' })))).toEqual({ accepted: 1, duplicates: 0, expired: 0 });
      const again = await post('c-1', touchpoint({ id: 'tp-1' }));
      expect(again.status).toBe(202);
      expect(await json(again)).toEqual({ accepted: 0, duplicates: 1, expired: 0 });
      expect((await profile('c-1')).touchpointCount).toBe(1);
    });

    it('counts duplicates within one batch and against stored ones', async () => {
      await setup();
      await post('c-1', touchpoint({ id: 'tp-1' }));
      const res = await post('c-1', {
        touchpoints: [touchpoint({ id: 'tp-1' }), touchpoint({ id: 'tp-2' }), touchpoint({ id: 'tp-2' }), touchpoint()],
      });
      expect(await json(res)).toEqual({ accepted: 2, duplicates: 2, expired: 0 });
      expect((await profile('c-1')).touchpointCount).toBe(3);
    });

    it('touchpoints without an id are never duplicates', async () => {
      await setup();
      await post('c-1', touchpoint());
      expect(await json(await post('c-1', touchpoint()))).toEqual({ accepted: 1, duplicates: 0, expired: 0 });
      expect((await profile('c-1')).touchpointCount).toBe(2);
    });

    it('the same id for another customer is stored', async () => {
      await setup();
      await post('c-1', touchpoint({ id: 'tp-1' }));
      expect(await json(await post('c-2', touchpoint({ id: 'tp-1' })))).toEqual({ accepted: 1, duplicates: 0, expired: 0 });
    });
  });

  describe('at', () => {
    it('defaults to now', async () => {
      await setup();
      await post('c-1', touchpoint());
      expect((await profile('c-1')).touchpoints[0].at).toBe(iso(h.clock));
    });

    it('accepts an offset other than Z and stores the same instant', async () => {
      await setup();
      await post('c-1', touchpoint({ at: '2026-03-01T10:30:00+02:00' }));
      expect((await profile('c-1')).touchpoints[0].at).toBe('2026-03-01T08:30:00.000Z');
    });

    it.each(['2026-03-01T10:30:00', '2026-03-01', '2026-03-01 10:30:00Z', 'yesterday', '1709290200000', ''])(
      'rejects %j (no offset or not ISO-8601) with 400 at $.at',
      async (at) => {
        await setup();
        const paths = await expectValidationErrors(await post('c-1', touchpoint({ at })));
        expect(paths).toEqual(['$.at']);
        await neverSeen('c-1');
      },
    );

    it('rejects a number for at with 400', async () => {
      await setup();
      expect(await expectValidationErrors(await post('c-1', touchpoint({ at: h.clock.now() })))).toEqual(['$.at']);
    });

    it('accepts exactly 4 minutes and exactly 5 minutes in the future', async () => {
      await setup();
      expect((await post('c-1', touchpoint({ at: iso(h.clock, 4 * MINUTE_MS) }))).status).toBe(202);
      expect((await post('c-1', touchpoint({ at: iso(h.clock, 5 * MINUTE_MS) }))).status).toBe(202);
      expect((await profile('c-1')).touchpointCount).toBe(2);
    });

    it('rejects a single touchpoint more than 5 minutes in the future with 400 at $.at', async () => {
      await setup();
      const paths = await expectValidationErrors(await post('c-1', touchpoint({ at: iso(h.clock, 5 * MINUTE_MS + 1000) })));
      expect(paths).toEqual(['$.at']);
      await neverSeen('c-1');
    });

    it('names the JSON path of the offending item in a batch ($.touchpoints[3].at) and stores none of the batch', async () => {
      await setup();
      const touchpoints = Array.from({ length: 5 }, (_, i) => touchpoint({ id: `tp-${i}`, at: iso(h.clock, -i * MINUTE_MS) }));
      touchpoints[3] = touchpoint({ id: 'tp-3', at: iso(h.clock, 6 * MINUTE_MS) });
      const res = await post('c-1', { touchpoints });
      const paths = await expectValidationErrors(res);
      expect(paths).toEqual(['$.touchpoints[3].at']);
      await neverSeen('c-1');
    });

    it('follows the injected clock, not the wall clock', async () => {
      await setup();
      h.clock.advance(365 * DAY_MS);
      // Far in the future for the wall clock? No: a year after T0 is "now" for the app.
      expect((await post('c-1', touchpoint({ at: iso(h.clock, 60 * 1000) }))).status).toBe(202);
    });
  });

  describe('properties', () => {
    // {"b":"xxx…"} is 8 bytes plus the string.
    it('accepts properties of exactly 4096 bytes as JSON', async () => {
      await setup();
      const res = await post('c-1', touchpoint({ properties: { b: 'x'.repeat(4096 - 8) } }));
      expect(res.status).toBe(202);
    });

    it('rejects properties over 4 KB as JSON with 400 at $.properties', async () => {
      await setup();
      const paths = await expectValidationErrors(await post('c-1', touchpoint({ properties: { b: 'x'.repeat(4096 - 7) } })));
      expect(paths).toEqual(['$.properties']);
      await neverSeen('c-1');
    });

    it('names the item of a batch whose properties are too big', async () => {
      await setup();
      const res = await post('c-1', { touchpoints: [touchpoint(), touchpoint({ properties: { b: 'x'.repeat(5000) } })] });
      expect(await expectValidationErrors(res)).toEqual(['$.touchpoints[1].properties']);
    });

    it.each([
      ['an array', []],
      ['a string', 'x'],
      ['a number', 1],
      ['null', null],
    ])('rejects properties that are %s with 400', async (_, properties) => {
      await setup();
      expect(await expectValidationErrors(await post('c-1', touchpoint({ properties })))).toEqual(['$.properties']);
    });

    it('keeps nested properties as sent', async () => {
      await setup();
      const properties = { sku: 'B-42', price: 129.5, tags: ['boots', 'winter'], nested: { ok: true, none: null } };
      await post('c-1', touchpoint({ properties }));
      expect((await profile('c-1')).touchpoints[0].properties).toEqual(properties);
    });
  });

  describe('type and channel slugs', () => {
    it.each(['a', 'page_view', 'email.open-v2', `a${'b'.repeat(63)}`])('accepts %j as type and as channel', async (slug) => {
      await setup();
      expect((await post('c-1', touchpoint({ type: slug, channel: slug }))).status).toBe(202);
      expect((await profile('c-1')).touchpoints[0]).toMatchObject({ type: slug, channel: slug });
    });

    it.each(['', 'PageView', 'Page_view', '1abc', '_a', '.a', 'a b', 'a/b', 'ä', `a${'b'.repeat(64)}`])(
      'rejects %j with 400 at $.type and at $.channel',
      async (slug) => {
        await setup();
        expect(await expectValidationErrors(await post('c-1', touchpoint({ type: slug })))).toEqual(['$.type']);
        expect(await expectValidationErrors(await post('c-1', touchpoint({ channel: slug })))).toEqual(['$.channel']);
        await neverSeen('c-1');
      },
    );

    it('requires type and channel', async () => {
      await setup();
      expect(await expectValidationErrors(await post('c-1', { channel: 'web' }))).toEqual(['$.type']);
      expect(await expectValidationErrors(await post('c-1', { type: 'page_view' }))).toEqual(['$.channel']);
    });
  });

  describe('unknown keys and ids', () => {
    it('rejects an unknown key on a touchpoint with 400 naming it', async () => {
      await setup();
      expect(await expectValidationErrors(await post('c-1', touchpoint({ timestamp: iso(h.clock) })))).toEqual(['$.timestamp']);
    });

    it('rejects an unknown key beside touchpoints with 400', async () => {
      await setup();
      expect(await expectValidationErrors(await post('c-1', { touchpoints: [touchpoint()], source: 'crm' }))).toEqual(['$.source']);
    });

    it('rejects an unknown key on a batch item with 400 naming the item', async () => {
      await setup();
      const res = await post('c-1', { touchpoints: [touchpoint(), touchpoint({ extra: 1 })] });
      expect(await expectValidationErrors(res)).toEqual(['$.touchpoints[1].extra']);
    });

    it.each([
      ['an empty string', ''],
      ['a number', 7],
      ['257 characters', 'x'.repeat(257)],
    ])('rejects a touchpoint id that is %s with 400 at $.id', async (_, id) => {
      await setup();
      expect(await expectValidationErrors(await post('c-1', touchpoint({ id })))).toEqual(['$.id']);
    });
  });

  describe('prototype pollution', () => {
    it('rejects a "__proto__" key inside properties with 400 and pollutes nothing', async () => {
      await setup();
      const res = await post('c-1', '{"type":"page_view","channel":"web","properties":{"__proto__":{"polluted":true}}}');
      const paths = await expectValidationErrors(res);
      expect(paths[0]).toMatch(/^\$\.properties/);
      expect(prototypeIsClean()).toBe(true);
      await neverSeen('c-1');
    });

    it('rejects a nested "__proto__" key inside properties with 400', async () => {
      await setup();
      const res = await post('c-1', '{"type":"page_view","channel":"web","properties":{"a":{"b":{"__proto__":{"polluted":true}}}}}');
      await expectValidationErrors(res);
      expect(prototypeIsClean()).toBe(true);
    });

    it.each([
      ['constructor', '{"constructor":{"prototype":{"polluted":true}}}', '$.properties.constructor'],
      ['nested constructor', '{"a":[{"constructor":{"prototype":{"polluted":true}}}]}', '$.properties.a[0].constructor'],
      ['prototype', '{"prototype":{"polluted":true}}', '$.properties.prototype'],
    ])('rejects a %s key inside properties with 400 at its path and pollutes nothing', async (_, properties, path) => {
      await setup();
      const res = await post('c-1', `{"type":"page_view","channel":"web","properties":${properties}}`);
      expect(await expectValidationErrors(res)).toEqual([path]);
      expect(prototypeIsClean()).toBe(true);
      await neverSeen('c-1');
    });

    it('rejects a "__proto__" key on the touchpoint itself with 400', async () => {
      await setup();
      const res = await post('c-1', '{"type":"page_view","channel":"web","__proto__":{"polluted":true}}');
      await expectValidationErrors(res);
      expect(prototypeIsClean()).toBe(true);
    });
  });

  describe('customer id in the path', () => {
    it('accepts 128 characters of every allowed kind', async () => {
      await setup();
      const id = `Ab9._:@-${'x'.repeat(120)}`;
      expect(id).toHaveLength(128);
      expect((await post(encodeURIComponent(id), touchpoint())).status).toBe(202);
      expect((await profile(encodeURIComponent(id))).customerId).toBe(id);
    });

    it.each([
      ['129 characters', 'x'.repeat(129)],
      ['a space (URL-encoded)', 'a%20b'],
      ['an encoded slash', 'a%2Fb'],
      ['a non-ASCII letter', encodeURIComponent('josé')],
      ['a plus sign', 'a+b'],
      ['a bad percent escape', '%ZZ'],
    ])('rejects %s with 400 and stores nothing', async (_, id) => {
      await setup();
      const paths = await expectValidationErrors(await post(id, touchpoint()));
      expect(paths).toEqual(['$.customerId']);
    });
  });

  describe('retention and the per-profile cap, visible through GET', () => {
    it('drops touchpoints older than TOUCHPOINT_RETENTION_DAYS as time passes', async () => {
      await setup({ retentionDays: 30 });
      await post('c-1', {
        touchpoints: [
          touchpoint({ id: 'ten-days', at: iso(h.clock, -10 * DAY_MS) }),
          touchpoint({ id: 'twenty-five-days', at: iso(h.clock, -25 * DAY_MS) }),
        ],
      });
      expect((await profile('c-1')).touchpoints.map((tp: { id: string }) => tp.id)).toEqual(['ten-days', 'twenty-five-days']);
      h.clock.advance(10 * DAY_MS);
      const later = await profile('c-1');
      expect(later.touchpointCount).toBe(1);
      expect(later.touchpoints.map((tp: { id: string }) => tp.id)).toEqual(['ten-days']);
    });

    it('does not show a touchpoint that is already older than retention when it arrives', async () => {
      await setup({ retentionDays: 30 });
      const res = await post('c-1', { touchpoints: [touchpoint({ id: 'old', at: iso(h.clock, -31 * DAY_MS) }), touchpoint({ id: 'new' })] });
      expect(res.status).toBe(202);
      expect((await profile('c-1')).touchpoints.map((tp: { id: string }) => tp.id)).toEqual(['new']);
    });

    it('counts a touchpoint already past retention as expired, not accepted, and never as a duplicate', async () => {
      await setup({ retentionDays: 30 });
      const ancient = touchpoint({ id: 'ancient', at: '0000-01-01T00:00:00Z' });
      expect(await json(await post('c-1', ancient))).toEqual({ accepted: 0, duplicates: 0, expired: 1 });
      const batch = { touchpoints: [touchpoint({ id: 'old', at: iso(h.clock, -31 * DAY_MS) }), touchpoint({ id: 'new' }), ancient] };
      expect(await json(await post('c-1', batch))).toEqual({ accepted: 1, duplicates: 0, expired: 2 });
      expect(await json(await post('c-1', batch))).toEqual({ accepted: 0, duplicates: 1, expired: 2 });
      expect((await profile('c-1')).touchpoints.map((tp: { id: string }) => tp.id)).toEqual(['new']);
    });

    it('keeps at most MAX_TOUCHPOINTS_PER_PROFILE, dropping the oldest first', async () => {
      await setup({ maxTouchpointsPerProfile: 5 });
      const touchpoints = Array.from({ length: 8 }, (_, i) => touchpoint({ id: `tp-${i}`, at: iso(h.clock, -(8 - i) * MINUTE_MS) }));
      expect((await post('c-1', { touchpoints })).status).toBe(202);
      let body = await profile('c-1');
      expect(body.touchpointCount).toBe(5);
      expect(body.touchpoints.map((tp: { id: string }) => tp.id)).toEqual(['tp-7', 'tp-6', 'tp-5', 'tp-4', 'tp-3']);

      // An older touchpoint than every kept one is the first to go.
      await post('c-1', touchpoint({ id: 'ancient', at: iso(h.clock, -DAY_MS) }));
      body = await profile('c-1');
      expect(body.touchpoints.map((tp: { id: string }) => tp.id)).toEqual(['tp-7', 'tp-6', 'tp-5', 'tp-4', 'tp-3']);

      // A newer one pushes out the oldest kept.
      await post('c-1', touchpoint({ id: 'newest' }));
      body = await profile('c-1');
      expect(body.touchpointCount).toBe(5);
      expect(body.touchpoints.map((tp: { id: string }) => tp.id)).toEqual(['newest', 'tp-7', 'tp-6', 'tp-5', 'tp-4']);
    });
  });
});
