import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toDecisionProfile, type DecisionProfile } from '../../src/domain/decision-profile.js';
import { InvalidInputError } from '../../src/domain/errors.js';
import type { JsonObject } from '../../src/domain/json.js';
import { MAX_ATTRIBUTES_BYTES } from '../../src/domain/profile.js';
import type { StoredOutcome } from '../../src/domain/outcome.js';
import type { StoredTouchpoint } from '../../src/domain/touchpoint.js';
import { DAY_MS, type ProfileStore, type StoreLimits } from '../../src/profiles/store.js';

export interface StoreHandle {
  store: ProfileStore;
  /**
   * Another store over the same data, as another replica or the same service
   * after a restart opens it (the same file, the same keys); cleanup closes it
   * too. Absent for a store only its own process sees (memory).
   */
  openAnother?: () => Promise<ProfileStore>;
  /** Closes the store if still open and removes anything it left behind (files, keys). */
  cleanup(): Promise<void>;
}

export type StoreFactory = (limits: StoreLimits) => Promise<StoreHandle>;

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);
const MINUTE = 60 * 1000;

function touchpoint(overrides: Partial<StoredTouchpoint> = {}): StoredTouchpoint {
  return { id: null, type: 'page_view', channel: 'web', at: T0, properties: null, ...overrides };
}

function outcome(overrides: Partial<StoredOutcome> = {}): StoredOutcome {
  return { decisionId: 'd-1', placement: 'home-hero', item: 'hero-a', rule: 'r1', arm: null, kind: 'impression', at: T0, value: null, ...overrides };
}

/** Tries to change a returned object; a frozen one throws, which is as good as a copy. */
function tryToMutate(change: () => void): void {
  try {
    change();
  } catch {
    // Frozen (shared read-only) results refuse the change; that is allowed.
  }
}

/**
 * The behaviour every ProfileStore must share. Run it from a `*.test.ts` file
 * with a factory that opens a fresh, empty store for the limits it is given.
 */
export function runProfileStoreContract(name: string, factory: StoreFactory): void {
  describe(`ProfileStore contract: ${name}`, () => {
    let handles: StoreHandle[] = [];
    let now = T0;

    async function open(limits: Partial<StoreLimits> = {}): Promise<ProfileStore> {
      return (await openHandle(limits)).store;
    }

    async function openHandle(limits: Partial<StoreLimits> = {}): Promise<StoreHandle> {
      const handle = await factory({ retentionDays: 30, maxTouchpointsPerProfile: 100, now: () => now, ...limits });
      handles.push(handle);
      return handle;
    }

    beforeEach(() => {
      now = T0;
    });

    afterEach(async () => {
      const opened = handles;
      handles = [];
      for (const handle of opened) await handle.cleanup();
    });

    describe('reading', () => {
      it('answers null for a customer never seen', async () => {
        const store = await open();
        expect(await store.get('nobody')).toBeNull();
        expect((await store.getMany(['nobody', 'nobody-else'])).size).toBe(0);
      });

      it('returns touchpoints newest first, the later inserted first among equal times', async () => {
        const store = await open();
        await store.appendTouchpoints(
          'c1',
          [
            touchpoint({ id: 'a', at: T0 - 3 * MINUTE }),
            touchpoint({ id: 'b', at: T0 - MINUTE }),
            touchpoint({ id: 'c', at: T0 - 2 * MINUTE }),
            touchpoint({ id: 'd', at: T0 - MINUTE }),
          ],
          T0,
        );
        await store.appendTouchpoints('c1', [touchpoint({ id: 'e', at: T0 - MINUTE }), touchpoint({ id: 'f', at: T0 - 10 * MINUTE })], T0);
        const profile = await store.get('c1');
        expect(profile?.touchpoints.map((tp) => tp.id)).toEqual(['e', 'd', 'b', 'c', 'a', 'f']);
      });

      it('keeps every field of a touchpoint', async () => {
        const store = await open();
        const stored = touchpoint({ id: 'x', type: 'cart_add', channel: 'email', at: T0 - 5, properties: { sku: 'A-1', qty: 2, tags: ['x', null], nested: { ok: true } } });
        await store.appendTouchpoints('c1', [stored, touchpoint({ at: T0 - 10 })], T0);
        const profile = await store.get('c1');
        expect(profile?.touchpoints).toEqual([stored, touchpoint({ at: T0 - 10 })]);
      });

      it('getMany returns the existing profiles, skipping missing ids and repeated ones', async () => {
        const store = await open();
        await store.appendTouchpoints('a', [touchpoint({ id: '1' })], T0);
        await store.patch('b', { attributes: { tier: 'gold' } }, T0);
        const found = await store.getMany(['a', 'missing', 'b', 'a', 'missing']);
        expect([...found.keys()].sort()).toEqual(['a', 'b']);
        expect(found.get('a')?.touchpoints.map((tp) => tp.id)).toEqual(['1']);
        expect(found.get('b')?.attributes).toEqual({ tier: 'gold' });
        expect(found.get('a')).toEqual(await store.get('a'));
        expect((await store.getMany([])).size).toBe(0);
      });

      it('getMany handles a thousand ids', async () => {
        const store = await open();
        const ids = Array.from({ length: 1000 }, (_, i) => `c-${i}`);
        for (const id of ids.slice(0, 500)) await store.appendTouchpoints(id, [touchpoint({ id: `${id}-tp` })], T0);
        const found = await store.getMany(ids);
        expect(found.size).toBe(500);
        expect(found.get('c-499')?.touchpoints[0]?.id).toBe('c-499-tp');
        expect(found.has('c-500')).toBe(false);
      });
    });

    describe('appendTouchpoints', () => {
      it('creates the profile', async () => {
        const store = await open();
        expect(await store.appendTouchpoints('c1', [touchpoint()], T0)).toMatchObject({ accepted: 1, duplicates: 0, expired: 0 });
        expect(await store.get('c1')).toEqual({
          customerId: 'c1',
          attributes: {},
          stage: null,
          touchpoints: [touchpoint()],
          outcomes: [],
          aliases: [],
          createdAt: T0,
          updatedAt: T0,
        });
      });

      it('stores a batch of a thousand touchpoints', async () => {
        const store = await open({ maxTouchpointsPerProfile: 1000 });
        const batch = Array.from({ length: 1000 }, (_, i) => touchpoint({ id: `tp-${i}`, at: T0 - i * 1000, properties: { i } }));
        expect(await store.appendTouchpoints('c1', batch, T0)).toMatchObject({ accepted: 1000, duplicates: 0, expired: 0 });
        const profile = await store.get('c1');
        expect(profile?.touchpoints).toHaveLength(1000);
        expect(profile?.touchpoints).toEqual(batch);
        expect(await store.appendTouchpoints('c1', batch, T0)).toMatchObject({ accepted: 0, duplicates: 1000, expired: 0 });
      });

      it('skips an id seen earlier in the same batch, keeping the first', async () => {
        const store = await open();
        const result = await store.appendTouchpoints(
          'c1',
          [touchpoint({ id: 'a', properties: { n: 1 } }), touchpoint({ id: 'b' }), touchpoint({ id: 'a', properties: { n: 2 } })],
          T0,
        );
        expect(result).toMatchObject({ accepted: 2, duplicates: 1, expired: 0 });
        const profile = await store.get('c1');
        expect(profile?.touchpoints.find((tp) => tp.id === 'a')?.properties).toEqual({ n: 1 });
        expect(profile?.touchpoints).toHaveLength(2);
      });

      it('skips ids stored by an earlier call, and never treats a null id as a duplicate', async () => {
        const store = await open();
        await store.appendTouchpoints('c1', [touchpoint({ id: 'a' }), touchpoint()], T0);
        const result = await store.appendTouchpoints('c1', [touchpoint({ id: 'a', at: T0 + 1 }), touchpoint(), touchpoint(), touchpoint({ id: 'b' })], T0 + 1);
        expect(result).toMatchObject({ accepted: 3, duplicates: 1, expired: 0 });
        expect((await store.get('c1'))?.touchpoints).toHaveLength(5);
      });

      it('keeps touchpoint ids of different customers apart', async () => {
        const store = await open();
        expect(await store.appendTouchpoints('c1', [touchpoint({ id: 'shared' })], T0)).toMatchObject({ accepted: 1, duplicates: 0, expired: 0 });
        expect(await store.appendTouchpoints('c2', [touchpoint({ id: 'shared' })], T0)).toMatchObject({ accepted: 1, duplicates: 0, expired: 0 });
        expect((await store.get('c2'))?.touchpoints.map((tp) => tp.id)).toEqual(['shared']);
      });

      it('counts an empty batch as a write that creates the profile', async () => {
        const store = await open();
        expect(await store.appendTouchpoints('c1', [], T0)).toMatchObject({ accepted: 0, duplicates: 0, expired: 0 });
        expect((await store.get('c1'))?.touchpoints).toEqual([]);
      });

      it('sets updatedAt on every write and keeps createdAt', async () => {
        const store = await open();
        await store.appendTouchpoints('c1', [touchpoint({ id: 'a' })], T0);
        await store.appendTouchpoints('c1', [touchpoint({ id: 'a' })], T0 + 5000);
        const profile = await store.get('c1');
        expect(profile?.createdAt).toBe(T0);
        expect(profile?.updatedAt).toBe(T0 + 5000);
      });

      it('keeps only the newest touchpoints beyond the cap, dropping the oldest first', async () => {
        const store = await open({ maxTouchpointsPerProfile: 3 });
        const ats = [5, 1, 4, 2, 3].map((m) => T0 - m * MINUTE);
        const result = await store.appendTouchpoints('c1', ats.map((at, i) => touchpoint({ id: `t${i}`, at })), T0);
        expect(result).toMatchObject({ accepted: 5, duplicates: 0, expired: 0 });
        expect((await store.get('c1'))?.touchpoints.map((tp) => tp.id)).toEqual(['t1', 't3', 't4']);

        // Older than everything kept: accepted, then dropped by the cap at once.
        expect(await store.appendTouchpoints('c1', [touchpoint({ id: 'old', at: T0 - 60 * MINUTE })], T0)).toMatchObject({ accepted: 1, duplicates: 0, expired: 0 });
        expect((await store.get('c1'))?.touchpoints.map((tp) => tp.id)).toEqual(['t1', 't3', 't4']);

        await store.appendTouchpoints('c1', [touchpoint({ id: 'new', at: T0 })], T0);
        expect((await store.get('c1'))?.touchpoints.map((tp) => tp.id)).toEqual(['new', 't1', 't3']);
      });

      it('drops the earlier inserted of equal times first at the cap', async () => {
        const store = await open({ maxTouchpointsPerProfile: 2 });
        await store.appendTouchpoints('c1', [touchpoint({ id: 'first' }), touchpoint({ id: 'second' })], T0);
        await store.appendTouchpoints('c1', [touchpoint({ id: 'third' })], T0);
        expect((await store.get('c1'))?.touchpoints.map((tp) => tp.id)).toEqual(['third', 'second']);
      });

      it('lets an id dropped by the cap be stored again', async () => {
        const store = await open({ maxTouchpointsPerProfile: 1 });
        await store.appendTouchpoints('c1', [touchpoint({ id: 'a', at: T0 - MINUTE })], T0);
        await store.appendTouchpoints('c1', [touchpoint({ id: 'b', at: T0 })], T0);
        expect(await store.appendTouchpoints('c1', [touchpoint({ id: 'a', at: T0 + MINUTE })], T0 + MINUTE)).toMatchObject({ accepted: 1, duplicates: 0, expired: 0 });
        expect((await store.get('c1'))?.touchpoints.map((tp) => tp.id)).toEqual(['a']);
      });

      it('stores strings that are not well-formed UTF-16 without failing, and the cap still holds', async () => {
        // The HTTP layer refuses lone surrogates; a store must still never fail on them, least of all after writing
        // (data stored before that check, or through another way in). Ids are not compared: how a store encodes
        // a lone surrogate in an id is its own business.
        const store = await open({ maxTouchpointsPerProfile: 2 });
        for (let n = 0; n < 4; n++) {
          const sent = touchpoint({ id: `tp-${n}-\ud800`, at: T0 + n, properties: { k: `v\ud800${n}`, [`\udc00${n}`]: 'x' } });
          expect(await store.appendTouchpoints('c1', [sent], T0 + n)).toMatchObject({ accepted: 1, duplicates: 0, expired: 0 });
        }
        const profile = await store.get('c1');
        expect(profile?.touchpoints.map((tp) => tp.at)).toEqual([T0 + 3, T0 + 2]);
        expect((await store.getForDecision('c1'))?.at).toEqual(new Float64Array([T0 + 3, T0 + 2]));
        now = T0 + 40 * DAY_MS;
        expect(await store.sweepExpired(now)).toBe(2);
        expect((await store.get('c1'))?.touchpoints).toEqual([]);
      });
    });

    describe('retention', () => {
      it('drops touchpoints older than retention when writing, keeping the one exactly at the limit', async () => {
        const store = await open({ retentionDays: 30 });
        const limit = T0 - 30 * DAY_MS;
        const result = await store.appendTouchpoints(
          'c1',
          [touchpoint({ id: 'too-old', at: limit - 1 }), touchpoint({ id: 'at-limit', at: limit }), touchpoint({ id: 'fresh', at: T0 })],
          T0,
        );
        // The one already past retention is never stored: counted apart, not as accepted.
        expect(result).toMatchObject({ accepted: 2, duplicates: 0, expired: 1 });
        expect((await store.get('c1'))?.touchpoints.map((tp) => tp.id)).toEqual(['fresh', 'at-limit']);
      });

      it('counts a touchpoint already past retention as expired before any id check, so it neither stores nor claims its id', async () => {
        const store = await open({ retentionDays: 30 });
        const tooOld = T0 - 31 * DAY_MS;
        await store.appendTouchpoints('c1', [touchpoint({ id: 'kept' })], T0);
        const result = await store.appendTouchpoints(
          'c1',
          [touchpoint({ id: 'kept', at: tooOld }), touchpoint({ id: 'a', at: tooOld }), touchpoint({ id: 'a' }), touchpoint({ at: tooOld })],
          T0,
        );
        expect(result).toMatchObject({ accepted: 1, duplicates: 0, expired: 3 });
        expect((await store.get('c1'))?.touchpoints.map((tp) => [tp.id, tp.at])).toEqual([['a', T0], ['kept', T0]]);
      });

      it('hides touchpoints that aged past retention on read, by the injected clock', async () => {
        const store = await open({ retentionDays: 30 });
        await store.appendTouchpoints('c1', [touchpoint({ id: 'old', at: T0 - 20 * DAY_MS }), touchpoint({ id: 'new', at: T0 })], T0);
        expect((await store.get('c1'))?.touchpoints.map((tp) => tp.id)).toEqual(['new', 'old']);

        now = T0 + 15 * DAY_MS;
        expect((await store.get('c1'))?.touchpoints.map((tp) => tp.id)).toEqual(['new']);
        expect((await store.getMany(['c1'])).get('c1')?.touchpoints.map((tp) => tp.id)).toEqual(['new']);

        now = T0 + 31 * DAY_MS;
        const profile = await store.get('c1');
        expect(profile?.touchpoints).toEqual([]);
        expect(profile?.customerId).toBe('c1');
      });

      it('lets an id whose touchpoint has expired be stored again', async () => {
        const store = await open({ retentionDays: 1 });
        await store.appendTouchpoints('c1', [touchpoint({ id: 'a', at: T0 })], T0);
        const later = T0 + 2 * DAY_MS;
        expect(await store.appendTouchpoints('c1', [touchpoint({ id: 'a', at: later })], later)).toMatchObject({ accepted: 1, duplicates: 0, expired: 0 });
        now = later;
        expect((await store.get('c1'))?.touchpoints.map((tp) => tp.at)).toEqual([later]);
      });

      it('sweepExpired drops expired touchpoints of every profile and counts them', async () => {
        const store = await open({ retentionDays: 10 });
        await store.appendTouchpoints('a', [touchpoint({ at: T0 - 5 * DAY_MS }), touchpoint({ at: T0 - 8 * DAY_MS }), touchpoint({ at: T0 })], T0);
        await store.appendTouchpoints('b', [touchpoint({ at: T0 - 9 * DAY_MS })], T0);
        await store.patch('c', { stage: 'awareness' }, T0);

        const later = T0 + 3 * DAY_MS;
        expect(await store.sweepExpired(later)).toBe(2);
        expect(await store.sweepExpired(later)).toBe(0);
        now = T0;
        // Swept for good: even a reader whose clock is behind no longer sees them.
        expect((await store.get('a'))?.touchpoints.map((tp) => tp.at)).toEqual([T0, T0 - 5 * DAY_MS]);
        expect((await store.get('b'))?.touchpoints).toEqual([]);
        expect((await store.get('c'))?.stage).toBe('awareness');
      });
    });

    describe('patch', () => {
      it('creates the profile and returns it', async () => {
        const store = await open();
        const profile = await store.patch('c1', { attributes: { tier: 'gold' }, stage: 'consideration' }, T0);
        expect(profile).toEqual({ customerId: 'c1', attributes: { tier: 'gold' }, stage: 'consideration', touchpoints: [], outcomes: [], aliases: [], createdAt: T0, updatedAt: T0 });
        expect(await store.get('c1')).toEqual(profile);
      });

      it('merges attributes as a JSON merge patch: nested objects merge, null deletes, arrays replace', async () => {
        const store = await open();
        await store.patch('c1', { attributes: { tier: 'gold', prefs: { email: true, sms: true }, tags: ['a', 'b'], drop: 1 } }, T0);
        const profile = await store.patch('c1', { attributes: { prefs: { sms: null, push: false }, tags: ['c'], drop: null, added: { deep: { er: 1 } } } }, T0 + 1);
        const expected = { tier: 'gold', prefs: { email: true, push: false }, tags: ['c'], added: { deep: { er: 1 } } };
        expect(profile.attributes).toEqual(expected);
        expect((await store.get('c1'))?.attributes).toEqual(expected);
      });

      it('sets, keeps and clears the explicit stage', async () => {
        const store = await open();
        expect((await store.patch('c1', { stage: 'purchase' }, T0)).stage).toBe('purchase');
        expect((await store.patch('c1', { attributes: { x: 1 } }, T0)).stage).toBe('purchase');
        expect((await store.patch('c1', { stage: 'retention' }, T0)).stage).toBe('retention');
        expect((await store.patch('c1', { stage: null }, T0)).stage).toBeNull();
        expect((await store.get('c1'))?.stage).toBeNull();
      });

      it('keeps touchpoints and createdAt, and sets updatedAt', async () => {
        const store = await open();
        await store.appendTouchpoints('c1', [touchpoint({ id: 'a' })], T0);
        const profile = await store.patch('c1', { attributes: { x: 1 } }, T0 + 1000);
        expect(profile.touchpoints.map((tp) => tp.id)).toEqual(['a']);
        expect(profile.createdAt).toBe(T0);
        expect(profile.updatedAt).toBe(T0 + 1000);
      });

      it('an empty change still creates the profile', async () => {
        const store = await open();
        expect(await store.patch('c1', {}, T0)).toMatchObject({ customerId: 'c1', attributes: {}, stage: null });
        expect(await store.get('c1')).not.toBeNull();
      });

      it('rejects attributes that would outgrow the limit and changes nothing', async () => {
        const store = await open();
        await store.patch('c1', { attributes: { keep: 'me' }, stage: 'purchase' }, T0);
        const before = await store.get('c1');
        const huge = 'x'.repeat(MAX_ATTRIBUTES_BYTES);

        const failure = await store.patch('c1', { attributes: { huge }, stage: 'retention' }, T0 + 1).catch((error: unknown) => error);
        expect(failure).toBeInstanceOf(InvalidInputError);
        expect((failure as InvalidInputError).errors).toEqual([{ path: '$.attributes', message: expect.any(String) }]);
        expect(await store.get('c1')).toEqual(before);

        await expect(store.patch('new', { attributes: { huge } }, T0)).rejects.toBeInstanceOf(InvalidInputError);
        expect(await store.get('new')).toBeNull();
      });

      it('accepts attributes right up to the limit', async () => {
        const store = await open();
        // {"v":"..."} is 8 bytes around the string.
        const fits = 'x'.repeat(MAX_ATTRIBUTES_BYTES - 8);
        expect((await store.patch('c1', { attributes: { v: fits } }, T0)).attributes.v).toBe(fits);
        await expect(store.patch('c1', { attributes: { w: 1 } }, T0)).rejects.toBeInstanceOf(InvalidInputError);
        // Shrinking a profile that is at the limit is allowed.
        expect((await store.patch('c1', { attributes: { v: null } }, T0)).attributes).toEqual({});
      });

      it('ignores keys that would reach a prototype', async () => {
        const store = await open();
        const patch = JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}, "ok": 1}') as JsonObject;
        const profile = await store.patch('c1', { attributes: patch }, T0);
        expect(profile.attributes).toEqual({ ok: 1 });
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      });
    });

    describe('delete', () => {
      it('removes the profile and its touchpoints, and says whether it existed', async () => {
        const store = await open();
        await store.appendTouchpoints('c1', [touchpoint({ id: 'a' })], T0);
        await store.patch('c1', { attributes: { x: 1 }, stage: 'purchase' }, T0);
        await store.appendTouchpoints('c2', [touchpoint({ id: 'a' })], T0);

        expect(await store.delete('c1')).toBe(true);
        expect(await store.get('c1')).toBeNull();
        expect((await store.getMany(['c1', 'c2'])).has('c1')).toBe(false);
        expect(await store.delete('c1')).toBe(false);
        expect(await store.delete('never')).toBe(false);
        expect((await store.get('c2'))?.touchpoints.map((tp) => tp.id)).toEqual(['a']);
      });

      it('forgets touchpoint ids, so the same id can be stored again into a fresh profile', async () => {
        const store = await open();
        await store.appendTouchpoints('c1', [touchpoint({ id: 'a' })], T0);
        await store.patch('c1', { attributes: { x: 1 } }, T0);
        await store.delete('c1');

        expect(await store.appendTouchpoints('c1', [touchpoint({ id: 'a' })], T0 + 1)).toMatchObject({ accepted: 1, duplicates: 0, expired: 0 });
        expect(await store.get('c1')).toEqual({
          customerId: 'c1',
          attributes: {},
          stage: null,
          touchpoints: [touchpoint({ id: 'a' })],
          outcomes: [],
          aliases: [],
          createdAt: T0 + 1,
          updatedAt: T0 + 1,
        });
      });
    });

    describe('decision reads', () => {
      /** What a decision must see: the decision profile of the full read. */
      async function expected(store: ProfileStore, customerId: string): Promise<DecisionProfile | null> {
        const profile = await store.get(customerId);
        return profile && toDecisionProfile(profile);
      }

      /** Both decision reads agree with the full read, for each id, whether or not the profiles are to be kept. */
      async function expectDecisionReadsFollow(store: ProfileStore, customerIds: string[]): Promise<void> {
        const many = await store.getManyForDecision(customerIds);
        const notKept = await store.getManyForDecision(customerIds, { cacheMisses: false });
        for (const customerId of customerIds) {
          const want = await expected(store, customerId);
          expect(await store.getForDecision(customerId), customerId).toEqual(want);
          expect(many.get(customerId) ?? null, customerId).toEqual(want);
          expect(notKept.get(customerId) ?? null, customerId).toEqual(want);
        }
      }

      it('answer null for a customer never seen, and leave missing and repeated ids out of the map', async () => {
        const store = await open();
        expect(await store.getForDecision('nobody')).toBeNull();
        await store.patch('b', { attributes: { tier: 'gold' } }, T0);
        const found = await store.getManyForDecision(['nobody', 'b', 'nobody', 'b']);
        expect([...found.keys()]).toEqual(['b']);
        expect((await store.getManyForDecision([])).size).toBe(0);
      });

      it('give attributes, the explicit stage and the touchpoint columns, newest first', async () => {
        const store = await open();
        await store.appendTouchpoints(
          'c1',
          [
            touchpoint({ id: 'a', type: 'email_open', channel: 'email', at: T0 - 2 * MINUTE, properties: { campaign: 'spring' } }),
            touchpoint({ id: 'b', type: 'cart_add', channel: 'web', at: T0 }),
            touchpoint({ type: 'page_view', channel: 'app', at: T0 - MINUTE }),
          ],
          T0,
        );
        await store.patch('c1', { attributes: { tier: 'gold', prefs: { email: true } }, stage: 'purchase' }, T0);
        const profile = await store.getForDecision('c1');
        expect(profile?.customerId).toBe('c1');
        expect(profile?.attributes).toEqual({ tier: 'gold', prefs: { email: true } });
        expect(profile?.stage).toBe('purchase');
        expect(profile?.types).toEqual(['cart_add', 'page_view', 'email_open']);
        expect(profile?.channels).toEqual(['web', 'app', 'email']);
        expect(profile?.at).toEqual(new Float64Array([T0, T0 - MINUTE, T0 - 2 * MINUTE]));
        await expectDecisionReadsFollow(store, ['c1']);
      });

      it('keep the order of the full read: newest first, the later inserted first among equal times', async () => {
        const store = await open();
        const at = [T0 - 3 * MINUTE, T0 - MINUTE, T0 - 2 * MINUTE, T0 - MINUTE, T0 - MINUTE];
        await store.appendTouchpoints('c1', at.slice(0, 3).map((time, i) => touchpoint({ id: `t${i}`, type: `type_${i}`, channel: `ch${i}`, at: time })), T0);
        await store.appendTouchpoints('c1', at.slice(3).map((time, i) => touchpoint({ id: `t${i + 3}`, type: `type_${i + 3}`, channel: `ch${i + 3}`, at: time })), T0);
        expect((await store.getForDecision('c1'))?.types).toEqual(['type_4', 'type_3', 'type_1', 'type_2', 'type_0']);
        await expectDecisionReadsFollow(store, ['c1']);
      });

      it('follow every write', async () => {
        const store = await open({ maxTouchpointsPerProfile: 3 });
        const ids = ['c1', 'c2', 'missing'];
        await expectDecisionReadsFollow(store, ids);
        await store.appendTouchpoints('c1', [touchpoint({ id: 'a', at: T0 - MINUTE })], T0);
        await expectDecisionReadsFollow(store, ids);
        await store.appendTouchpoints('c1', [touchpoint({ id: 'b', type: 'cart_add' }), touchpoint({ id: 'a' })], T0);
        await expectDecisionReadsFollow(store, ids);
        await store.patch('c1', { attributes: { tier: 'gold' }, stage: 'purchase' }, T0);
        await expectDecisionReadsFollow(store, ids);
        await store.patch('c2', { attributes: { tier: 'silver' } }, T0);
        await expectDecisionReadsFollow(store, ids);
        // Beyond the cap of 3: the oldest go.
        await store.appendTouchpoints('c1', [touchpoint({ id: 'c', at: T0 + 1 }), touchpoint({ id: 'd', channel: 'email', at: T0 + 2 })], T0 + 2);
        await expectDecisionReadsFollow(store, ids);
        await store.patch('c1', { attributes: { tier: null }, stage: null }, T0 + 2);
        await expectDecisionReadsFollow(store, ids);
        await store.delete('c1');
        await expectDecisionReadsFollow(store, ids);
        await store.appendTouchpoints('c1', [touchpoint({ id: 'a', type: 'email_open' })], T0 + 3);
        await expectDecisionReadsFollow(store, ids);
        expect((await store.getForDecision('c1'))?.types).toEqual(['email_open']);
      });

      it('hide touchpoints that aged past retention, by the injected clock', async () => {
        const store = await open({ retentionDays: 30 });
        await store.appendTouchpoints('c1', [touchpoint({ id: 'old', at: T0 - 20 * DAY_MS }), touchpoint({ id: 'new', at: T0 })], T0);
        expect((await store.getForDecision('c1'))?.at).toEqual(new Float64Array([T0, T0 - 20 * DAY_MS]));

        now = T0 + 15 * DAY_MS;
        expect((await store.getForDecision('c1'))?.at).toEqual(new Float64Array([T0]));
        expect((await store.getManyForDecision(['c1'])).get('c1')?.types).toEqual(['page_view']);
        await expectDecisionReadsFollow(store, ['c1']);

        now = T0 + 31 * DAY_MS;
        const profile = await store.getForDecision('c1');
        expect(profile?.types).toEqual([]);
        expect(profile?.at).toHaveLength(0);
        await expectDecisionReadsFollow(store, ['c1']);
      });

      it('follow a sweep', async () => {
        const store = await open({ retentionDays: 10 });
        await store.appendTouchpoints('a', [touchpoint({ at: T0 - 8 * DAY_MS }), touchpoint({ at: T0 })], T0);
        await expectDecisionReadsFollow(store, ['a']);
        // The sweep runs on the store's own clock, as in the service.
        now = T0 + 3 * DAY_MS;
        expect(await store.sweepExpired(now)).toBe(1);
        await expectDecisionReadsFollow(store, ['a']);
        expect((await store.getForDecision('a'))?.at).toEqual(new Float64Array([T0]));
      });

      it('getManyForDecision handles a thousand ids', async () => {
        const store = await open();
        const ids = Array.from({ length: 1000 }, (_, i) => `c-${i}`);
        for (const id of ids.slice(0, 500)) await store.appendTouchpoints(id, [touchpoint({ id: `${id}-tp`, at: T0 - 1 })], T0);
        const found = await store.getManyForDecision(ids);
        expect(found.size).toBe(500);
        expect(found.get('c-499')?.at).toEqual(new Float64Array([T0 - 1]));
        expect(found.has('c-500')).toBe(false);
        const notKept = await store.getManyForDecision(ids, { cacheMisses: false });
        expect([...notKept.keys()]).toEqual([...found.keys()]);
        for (const [id, profile] of found) expect(notKept.get(id), id).toEqual(profile);
      });

      it('are not changed through objects returned, except the at column, which callers must only read', async () => {
        const store = await open();
        await store.appendTouchpoints('c1', [touchpoint({ id: 'a', type: 'cart_add' })], T0);
        await store.patch('c1', { attributes: { prefs: { email: true } }, stage: 'purchase' }, T0);
        const snapshot = await expected(store, 'c1');

        const returned = [await store.getForDecision('c1'), (await store.getManyForDecision(['c1'])).get('c1')];
        for (const profile of returned) {
          if (!profile) throw new Error('profile expected');
          const writable = profile as { -readonly [K in keyof DecisionProfile]: DecisionProfile[K] };
          tryToMutate(() => {
            writable.stage = 'hacked';
          });
          tryToMutate(() => {
            (profile.attributes as JsonObject).injected = true;
          });
          tryToMutate(() => {
            ((profile.attributes as JsonObject).prefs as JsonObject).email = false;
          });
          tryToMutate(() => {
            (profile.types as string[])[0] = 'hacked';
          });
          tryToMutate(() => {
            (profile.channels as string[]).push('hacked');
          });
        }
        expect(await store.getForDecision('c1')).toEqual(snapshot);
        expect(await expected(store, 'c1')).toEqual(snapshot);
      });
    });

    describe('scanDecisionProfiles', () => {
      async function scanAll(store: ProfileStore, limit: number): Promise<DecisionProfile[]> {
        const seen = new Map<string, DecisionProfile>();
        let cursor: string | null = null;
        let pages = 0;
        do {
          const page = await store.scanDecisionProfiles(cursor, limit);
          for (const profile of page.profiles) seen.set(profile.customerId, profile);
          cursor = page.cursor;
          pages++;
          expect(pages).toBeLessThan(1000);
        } while (cursor !== null);
        return [...seen.values()];
      }

      it('ends at once on an empty store', async () => {
        const store = await open();
        expect(await scanAll(store, 10)).toEqual([]);
      });

      it('returns every stored profile across pages, as its decision read', async () => {
        const store = await open();
        const ids = Array.from({ length: 23 }, (_, n) => `scan-${String(n).padStart(2, '0')}`);
        for (const [n, id] of ids.entries()) {
          if (n % 3 === 0) await store.patch(id, { attributes: { n }, stage: n % 2 === 0 ? 'purchase' : null }, now);
          else await store.appendTouchpoints(id, [touchpoint({ type: 'cart_add', at: T0 - n * MINUTE }), touchpoint({ at: T0 - 2 * n * MINUTE })], now);
          // Outcomes too: the journey map's stage rules may count them.
          if (n % 4 === 1) await store.appendOutcomes(id, [outcome({ decisionId: `d-${n}`, at: T0 - n * MINUTE }), outcome({ decisionId: `d-${n}`, kind: 'click', at: T0 - n * MINUTE + 1 })], now);
        }
        const scanned = await scanAll(store, 5);
        expect(scanned.map((p) => p.customerId).sort()).toEqual(ids);
        for (const profile of scanned) {
          expect(profile).toEqual(await store.getForDecision(profile.customerId));
        }
      });

      it('leaves out deleted profiles and touchpoints past retention', async () => {
        const store = await open();
        await store.appendTouchpoints('keep', [touchpoint({ type: 'old', at: T0 - 10 * DAY_MS }), touchpoint({ type: 'new' })], now);
        await store.appendTouchpoints('gone', [touchpoint()], now);
        await store.delete('gone');
        now = T0 + 25 * DAY_MS;
        const scanned = await scanAll(store, 100);
        expect(scanned.map((p) => p.customerId)).toEqual(['keep']);
        expect(scanned[0]?.types).toEqual(['new']);
      });
    });

    describe('isolation of stored state', () => {
      it('is not changed through objects passed in', async () => {
        const store = await open();
        const batch = [touchpoint({ id: 'a', properties: { list: [1], nested: { n: 1 } } })];
        await store.appendTouchpoints('c1', batch, T0);
        const attributes: JsonObject = { prefs: { list: [1] } };
        await store.patch('c1', { attributes }, T0);

        const first = batch[0] as StoredTouchpoint;
        first.type = 'changed';
        (first.properties?.list as number[]).push(2);
        ((attributes.prefs as JsonObject).list as number[]).push(2);
        (attributes.prefs as JsonObject).extra = true;

        const profile = await store.get('c1');
        expect(profile?.touchpoints[0]).toEqual(touchpoint({ id: 'a', properties: { list: [1], nested: { n: 1 } } }));
        expect(profile?.attributes).toEqual({ prefs: { list: [1] } });
      });

      it('is not changed through objects returned', async () => {
        const store = await open();
        await store.appendTouchpoints('c1', [touchpoint({ id: 'a', properties: { n: 1 } })], T0);
        await store.patch('c1', { attributes: { prefs: { email: true } } }, T0);
        const expected = await store.get('c1');
        const snapshot = structuredClone(expected);

        const returned = [await store.get('c1'), (await store.getMany(['c1'])).get('c1'), await store.patch('c1', {}, T0)];
        for (const profile of returned) {
          if (!profile) throw new Error('profile expected');
          tryToMutate(() => {
            profile.stage = 'hacked';
          });
          tryToMutate(() => {
            profile.attributes.injected = true;
          });
          tryToMutate(() => {
            (profile.attributes.prefs as JsonObject).email = false;
          });
          tryToMutate(() => {
            const tp = profile.touchpoints[0] as StoredTouchpoint;
            tp.type = 'hacked';
            (tp.properties as JsonObject).n = 99;
          });
          tryToMutate(() => {
            profile.touchpoints.pop();
          });
          tryToMutate(() => {
            profile.touchpoints.push(touchpoint({ id: 'fake' }));
          });
        }
        expect(await store.get('c1')).toEqual(snapshot);
        expect((await store.getMany(['c1'])).get('c1')).toEqual(snapshot);
      });
    });

    describe('outcomes', () => {
      it('creates the profile and reads every field back, newest first', async () => {
        const store = await open();
        const older = outcome({ at: T0 - MINUTE, rule: null, arm: 'priority' });
        const newer = outcome({ decisionId: 'd-2', kind: 'conversion', at: T0, value: 59.9, arm: 'optimized', item: 'hero-b', placement: 'email-offer' });
        expect(await store.appendOutcomes('c1', [older, newer], now)).toMatchObject({ accepted: 2, duplicates: 0, acceptedByKind: { impression: 1, conversion: 1 } });
        const profile = await store.get('c1');
        expect(profile?.attributes).toEqual({});
        expect(profile?.outcomes).toEqual([newer, older]);
        expect((await store.getMany(['c1'])).get('c1')?.outcomes).toEqual([newer, older]);
      });

      it('stores one outcome per decision, placement, item and kind; repeats are duplicates, in a batch or later', async () => {
        const store = await open();
        const first = outcome();
        expect(await store.appendOutcomes('c1', [first, outcome({ at: T0 - 1, value: 3 })], now)).toMatchObject({ accepted: 1, duplicates: 1 });
        expect(await store.appendOutcomes('c1', [first], now)).toMatchObject({ accepted: 0, duplicates: 1 });
        const distinct = [
          outcome({ kind: 'click' }),
          outcome({ item: 'hero-b' }),
          outcome({ placement: 'other' }),
          outcome({ decisionId: 'd-2' }),
        ];
        expect(await store.appendOutcomes('c1', distinct, now)).toMatchObject({ accepted: 4, duplicates: 0 });
        // Another customer's outcome of the same decision is its own.
        expect(await store.appendOutcomes('c2', [first], now)).toMatchObject({ accepted: 1, duplicates: 0 });
        const stored = (await store.get('c1'))?.outcomes ?? [];
        expect(stored).toHaveLength(5);
        // The first of the repeats is kept (equal times may come back in any order).
        expect(stored.filter((o) => o.decisionId === 'd-1' && o.kind === 'impression' && o.item === 'hero-a' && o.placement === 'home-hero')).toEqual([first]);
      });

      it('fill the decision profile columns, as toDecisionProfile would', async () => {
        const store = await open();
        await store.appendTouchpoints('c1', [touchpoint()], now);
        await store.appendOutcomes('c1', [outcome({ at: T0 - 2 * MINUTE }), outcome({ kind: 'click', at: T0 - MINUTE })], now);
        const full = await store.get('c1');
        const decision = await store.getForDecision('c1');
        expect(decision).toEqual(toDecisionProfile(full as NonNullable<typeof full>));
        expect(decision?.outcomes.kinds).toEqual(['click', 'impression']);
        expect((await store.getManyForDecision(['c1'])).get('c1')).toEqual(decision);
      });

      it('hides and sweeps outcomes past retention, and lets an expired one be stored again', async () => {
        const store = await open({ retentionDays: 30 });
        await store.appendOutcomes('c1', [outcome({ at: T0 }), outcome({ kind: 'click', at: T0 + MINUTE })], now);
        now = T0 + 30 * DAY_MS + 1;
        expect((await store.get('c1'))?.outcomes?.map((o) => o.kind)).toEqual(['click']);
        expect((await store.getForDecision('c1'))?.outcomes.kinds).toEqual(['click']);
        expect(await store.sweepExpired(now)).toBe(1);
        now = T0 + 30 * DAY_MS + 2 * MINUTE;
        expect(await store.sweepExpired(now)).toBe(1);
        expect((await store.get('c1'))?.outcomes).toEqual([]);
        expect(await store.appendOutcomes('c1', [outcome({ at: now })], now)).toMatchObject({ accepted: 1, duplicates: 0 });
      });

      it('are erased by delete', async () => {
        const store = await open();
        await store.appendOutcomes('c1', [outcome()], now);
        expect(await store.delete('c1')).toBe(true);
        expect(await store.get('c1')).toBeNull();
        expect(await store.appendOutcomes('c1', [outcome()], now)).toMatchObject({ accepted: 1, duplicates: 0 });
      });

      it("count everyone's outcomes per item, kind and day, for the items asked, without deleted customers", async () => {
        const store = await open();
        const day = Math.floor(T0 / DAY_MS);
        await store.appendOutcomes('c1', [outcome(), outcome({ kind: 'click' }), outcome({ decisionId: 'd-0', at: T0 - DAY_MS })], now);
        await store.appendOutcomes('c2', [outcome(), outcome({ item: 'other' })], now);
        await store.appendOutcomes('c3', [outcome({ decisionId: 'd-9' })], now);
        const sorted = (counts: Awaited<ReturnType<ProfileStore['outcomeTotals']>>) =>
          [...counts].sort((a, b) => a.day - b.day || a.kind.localeCompare(b.kind));
        expect(sorted(await store.outcomeTotals(['hero-a'], now))).toEqual([
          { item: 'hero-a', kind: 'impression', day: day - 1, count: 1 },
          { item: 'hero-a', kind: 'click', day, count: 1 },
          { item: 'hero-a', kind: 'impression', day, count: 3 },
        ]);
        expect(await store.outcomeTotals([], now)).toEqual([]);
        await store.delete('c3');
        expect(sorted(await store.outcomeTotals(['hero-a'], now)).at(-1)).toEqual({ item: 'hero-a', kind: 'impression', day, count: 2 });
      });
    });

    describe('aliases (contract section 11)', () => {
      async function mergedOf(store: ProfileStore, customerId: string, alias: string, at = now) {
        const result = await store.addAlias(customerId, alias, at);
        if (result.kind !== 'merged') throw new Error(`expected a merge, got ${JSON.stringify(result)}`);
        return result;
      }

      it('resolve answers the id itself for a customer never seen or not an alias', async () => {
        const store = await open();
        expect(await store.resolve('nobody')).toBe('nobody');
        await store.appendTouchpoints('c1', [touchpoint()], T0);
        expect(await store.resolve('c1')).toBe('c1');
      });

      it('aliasing ids never seen creates the canonical customer with the alias', async () => {
        const store = await open();
        const { profile, changed } = await mergedOf(store, 'known', 'device');
        expect(changed).toBe(true);
        expect(profile).toMatchObject({ customerId: 'known', attributes: {}, stage: null, touchpoints: [], outcomes: [], aliases: ['device'] });
        expect(await store.resolve('device')).toBe('known');
        expect(await store.get('device')).toEqual(await store.get('known'));
      });

      it('merges touchpoints (deduplicated by id), outcomes, attributes (canonical wins) and the stage', async () => {
        const store = await open();
        await store.appendTouchpoints('c', [touchpoint({ id: 'shared', at: T0 - 3 * MINUTE }), touchpoint({ id: 'c-only', at: T0 - 2 * MINUTE })], T0);
        await store.appendTouchpoints('a', [touchpoint({ id: 'shared', at: T0 - MINUTE, type: 'email_open' }), touchpoint({ id: 'a-only', at: T0 - 4 * MINUTE }), touchpoint({ at: T0 })], T0);
        await store.appendOutcomes('c', [outcome({ decisionId: 'd-1' })], T0);
        await store.appendOutcomes('a', [outcome({ decisionId: 'd-1' }), outcome({ decisionId: 'd-2', at: T0 - MINUTE })], T0);
        await store.patch('c', { attributes: { tier: 'gold', address: { city: 'Lyon' } } }, T0);
        await store.patch('a', { attributes: { tier: 'silver', device: 'phone', address: { city: 'Paris', zip: '75001' } }, stage: 'consideration' }, T0);

        const { profile } = await mergedOf(store, 'c', 'a', T0 + 1);
        expect(profile.customerId).toBe('c');
        expect(profile.touchpoints.map((tp) => tp.id)).toEqual([null, 'c-only', 'shared', 'a-only']);
        expect(profile.touchpoints.find((tp) => tp.id === 'shared')?.type).toBe('page_view');
        expect(profile.outcomes?.map((o) => o.decisionId)).toEqual(['d-1', 'd-2']);
        expect(profile.attributes).toEqual({ tier: 'gold', device: 'phone', address: { city: 'Lyon', zip: '75001' } });
        expect(profile.stage).toBe('consideration');
        expect(profile.aliases).toEqual(['a']);
        // Everyone's totals count the merged customer's outcomes once: the alias's repeat of d-1 went with the merge.
        const totals = await store.outcomeTotals(['hero-a'], T0 + 1);
        expect(totals.reduce((sum, row) => sum + row.count, 0)).toBe(2);
        // The alias answers with the canonical customer, everywhere.
        expect(await store.get('a')).toEqual(profile);
        expect((await store.getForDecision('a'))?.customerId).toBe('c');
        expect(await store.getForDecision('a')).toEqual(await store.getForDecision('c'));
        const many = await store.getManyForDecision(['a', 'c']);
        expect(many.get('a')?.customerId).toBe('c');
        expect((await store.getMany(['a'])).get('a')?.customerId).toBe('c');
      });

      it("keeps the canonical customer's explicit stage when it has one", async () => {
        const store = await open();
        await store.patch('c', { stage: 'retention' }, T0);
        await store.patch('a', { stage: 'consideration' }, T0);
        expect((await mergedOf(store, 'c', 'a')).profile.stage).toBe('retention');
      });

      it('ignores keys that would reach a prototype', async () => {
        const store = await open();
        await store.patch('a', { attributes: JSON.parse('{"__proto__": {"polluted": true}, "constructor": 1, "ok": 1}') as JsonObject }, T0);
        const { profile } = await mergedOf(store, 'c', 'a');
        expect(Object.keys(profile.attributes)).toEqual(['ok']);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      });

      it('applies retention and the per-profile cap to the merged touchpoints, newest kept', async () => {
        const store = await open({ maxTouchpointsPerProfile: 3 });
        await store.appendTouchpoints('c', [touchpoint({ id: 'c1', at: T0 - 5 * MINUTE }), touchpoint({ id: 'c2', at: T0 - MINUTE })], T0);
        await store.appendTouchpoints('a', [touchpoint({ id: 'a1', at: T0 - 4 * MINUTE }), touchpoint({ id: 'a2', at: T0 - 2 * MINUTE })], T0);
        await store.appendTouchpoints('a', [touchpoint({ id: 'old', at: T0 - 29 * DAY_MS })], T0);
        now = T0 + 2 * DAY_MS; // 'old' is now past the 30 days of retention
        const { profile } = await mergedOf(store, 'c', 'a', now);
        expect(profile.touchpoints.map((tp) => tp.id)).toEqual(['c2', 'a2', 'a1']);
      });

      it('is a no-op when repeated, or for an alias already of the same customer, or for the canonical id itself', async () => {
        const store = await open();
        await store.appendTouchpoints('a', [touchpoint({ id: 'x' })], T0);
        const first = await mergedOf(store, 'c', 'a');
        const again = await mergedOf(store, 'c', 'a');
        expect(again.changed).toBe(false);
        expect(again.profile.touchpoints).toEqual(first.profile.touchpoints);
        await mergedOf(store, 'c', 'b');
        // Through an alias: 'a' resolves to 'c', which already holds 'b', and 'c' is the canonical id itself.
        expect((await mergedOf(store, 'a', 'b')).changed).toBe(false);
        expect((await mergedOf(store, 'a', 'c')).changed).toBe(false);
        expect((await store.get('c'))?.aliases).toEqual(['a', 'b']);
      });

      it('aliases through an alias onto its canonical customer', async () => {
        const store = await open();
        await mergedOf(store, 'c', 'a');
        const { profile } = await mergedOf(store, 'a', 'b');
        expect(profile.customerId).toBe('c');
        expect(await store.resolve('b')).toBe('c');
      });

      it("answers conflict for an alias of another customer, changing nothing", async () => {
        const store = await open();
        await mergedOf(store, 'c', 'a');
        await store.appendTouchpoints('d', [touchpoint({ id: 'd1' })], T0);
        expect(await store.addAlias('d', 'a', now)).toEqual({ kind: 'conflict', canonical: 'c' });
        expect(await store.resolve('a')).toBe('c');
        expect((await store.get('d'))?.aliases).toEqual([]);
      });

      it("moves the alias's own aliases over: chains are flattened, resolution is one step", async () => {
        const store = await open();
        await store.appendTouchpoints('b', [touchpoint({ id: 'from-b' })], T0);
        await mergedOf(store, 'a', 'b');
        const { profile } = await mergedOf(store, 'c', 'a');
        expect(profile.aliases).toEqual(['a', 'b']);
        expect(profile.touchpoints.map((tp) => tp.id)).toEqual(['from-b']);
        expect(await store.resolve('b')).toBe('c');
        expect(await store.resolve('a')).toBe('c');
        expect((await store.get('b'))?.customerId).toBe('c');
      });

      it('answers limit past maxAliasesPerCustomer, changing nothing', async () => {
        const store = await open({ maxAliasesPerCustomer: 2 });
        await mergedOf(store, 'c', 'a1');
        await mergedOf(store, 'c', 'a2');
        await store.appendTouchpoints('a3', [touchpoint({ id: 'mine' })], T0);
        expect(await store.addAlias('c', 'a3', now)).toEqual({ kind: 'limit', max: 2 });
        expect(await store.resolve('a3')).toBe('a3');
        expect((await store.get('a3'))?.touchpoints.map((tp) => tp.id)).toEqual(['mine']);
        // An alias with aliases of its own counts them too.
        await mergedOf(store, 'd', 'd1');
        expect(await store.addAlias('e', 'd', now)).toEqual({ kind: 'merged', profile: expect.anything(), changed: true });
        expect(await store.addAlias('c', 'e', now)).toEqual({ kind: 'limit', max: 2 });
      });

      it('writes through an alias land on the canonical customer and say so', async () => {
        const store = await open();
        await mergedOf(store, 'c', 'a');
        expect(await store.appendTouchpoints('a', [touchpoint({ id: 't1' })], T0)).toMatchObject({ customerId: 'c', accepted: 1 });
        expect(await store.appendTouchpoints('c', [touchpoint({ id: 't1' })], T0)).toMatchObject({ customerId: 'c', accepted: 0, duplicates: 1 });
        expect(await store.appendOutcomes('a', [outcome()], T0)).toMatchObject({ customerId: 'c', accepted: 1 });
        expect((await store.patch('a', { attributes: { via: 'alias' } }, T0)).customerId).toBe('c');
        const profile = await store.get('c');
        expect(profile?.touchpoints.map((tp) => tp.id)).toEqual(['t1']);
        expect(profile?.outcomes).toHaveLength(1);
        expect(profile?.attributes).toEqual({ via: 'alias' });
      });

      it('delete through any id erases the canonical customer and all its aliases', async () => {
        const store = await open();
        await store.appendTouchpoints('a', [touchpoint({ id: 't1' })], T0);
        await mergedOf(store, 'c', 'a');
        await mergedOf(store, 'c', 'b');
        expect(await store.delete('b')).toBe(true);
        for (const id of ['a', 'b', 'c']) {
          expect(await store.get(id)).toBeNull();
          expect(await store.getForDecision(id)).toBeNull();
          expect(await store.resolve(id)).toBe(id);
        }
        expect(await store.delete('a')).toBe(false);
        // The ids are free again: 'a' can belong to another customer now.
        expect((await mergedOf(store, 'd', 'a')).profile.aliases).toEqual(['a']);
      });

      it('scans canonical customers only', async () => {
        const store = await open();
        await store.appendTouchpoints('a', [touchpoint({ id: 't1' })], T0);
        await mergedOf(store, 'c', 'a');
        const ids: string[] = [];
        let cursor: string | null = null;
        do {
          const page = await store.scanDecisionProfiles(cursor, 10);
          ids.push(...page.profiles.map((p) => p.customerId));
          cursor = page.cursor;
        } while (cursor !== null);
        expect([...new Set(ids)]).toEqual(['c']);
      });
    });

    describe('shared secrets', () => {
      it('keep the first value stored under a name', async () => {
        const store = await open();
        expect(await store.sharedSecret('decision-id-key', 'first')).toBe('first');
        expect(await store.sharedSecret('decision-id-key', 'second')).toBe('first');
        expect(await store.sharedSecret('other', 'second')).toBe('second');
      });
    });

    describe('decision names', () => {
      it('number names in the order first added, and re-adding one changes nothing', async () => {
        const store = await open();
        expect(await store.decisionNames()).toEqual([]);
        expect(await store.addDecisionNames(['home-hero', 'hero-a', 'cart-abandoners'])).toEqual(['home-hero', 'hero-a', 'cart-abandoners']);
        expect(await store.addDecisionNames(['hero-b', 'home-hero', 'hero-b', 'ünïcödé ✓'])).toEqual(['home-hero', 'hero-a', 'cart-abandoners', 'hero-b', 'ünïcödé ✓']);
        expect(await store.addDecisionNames(['hero-a', 'home-hero'])).toEqual(['home-hero', 'hero-a', 'cart-abandoners', 'hero-b', 'ünïcödé ✓']);
        expect(await store.addDecisionNames([])).toEqual(['home-hero', 'hero-a', 'cart-abandoners', 'hero-b', 'ünïcödé ✓']);
        expect(await store.decisionNames()).toEqual(['home-hero', 'hero-a', 'cart-abandoners', 'hero-b', 'ünïcödé ✓']);
      });

      it('number many names at once, a whole rule set', async () => {
        const store = await open();
        const names = Array.from({ length: 2500 }, (_, n) => `item-${n}`);
        expect(await store.addDecisionNames(names)).toEqual(names);
        expect(await store.addDecisionNames(['late', ...names.slice(0, 10)])).toEqual([...names, 'late']);
      });

      it('stop numbering at the limit; the names after it are left out', async () => {
        const store = await open({ maxDecisionNames: 3 });
        expect(await store.addDecisionNames(['a', 'b'])).toEqual(['a', 'b']);
        expect(await store.addDecisionNames(['c', 'd', 'a'])).toEqual(['a', 'b', 'c']);
        expect(await store.addDecisionNames(['e'])).toEqual(['a', 'b', 'c']);
      });

      it('give every store over the same data one numbering, even when they add at once', async () => {
        const handle = await openHandle();
        const other = handle.openAnother ? await handle.openAnother() : handle.store;
        const first = Array.from({ length: 40 }, (_, n) => `p-${n % 25}`);
        const second = Array.from({ length: 40 }, (_, n) => `p-${(n * 7) % 30}`);
        const lists = await Promise.all([
          ...first.map((name) => handle.store.addDecisionNames([name, 'shared'])),
          ...second.map((name) => other.addDecisionNames(['shared', name])),
        ]);
        const final = await handle.store.decisionNames();
        expect(await other.decisionNames()).toEqual(final);
        expect([...final].sort()).toEqual([...new Set([...first, ...second, 'shared'])].sort());
        // Every answer, whenever it came, is the start of the final list: a number never changes its name.
        for (const list of lists) expect(final.slice(0, list.length)).toEqual(list);
      });

      it.runIf(name.includes('sqlite') || name.includes('redis'))('survive closing and opening the store again', async () => {
        const handle = await openHandle();
        await handle.store.addDecisionNames(['home-hero', 'hero-a']);
        await handle.store.close();
        expect(handle.openAnother).toBeDefined();
        const reopened = await (handle.openAnother as () => Promise<ProfileStore>)();
        expect(await reopened.decisionNames()).toEqual(['home-hero', 'hero-a']);
        expect(await reopened.addDecisionNames(['hero-b', 'hero-a'])).toEqual(['home-hero', 'hero-a', 'hero-b']);
      });
    });

    describe('lifecycle', () => {
      it('ping resolves while open', async () => {
        const store = await open();
        await expect(store.ping()).resolves.toBeUndefined();
      });

      it('close can be called twice, and a closed store refuses work', async () => {
        const store = await open();
        await store.close();
        await expect(store.close()).resolves.toBeUndefined();
        await expect(store.ping()).rejects.toThrow();
      });
    });
  });
}
