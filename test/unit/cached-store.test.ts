import { describe, expect, it } from 'vitest';
import { toDecisionProfile, type DecisionProfile } from '../../src/domain/decision-profile.js';
import { StoreUnavailableError } from '../../src/domain/errors.js';
import type { JsonObject } from '../../src/domain/json.js';
import type { StoredTouchpoint } from '../../src/domain/touchpoint.js';
import { createCachedStore, type CachedProfileStore, type CachedStoreOptions } from '../../src/profiles/cached-store.js';
import { createMemoryStore } from '../../src/profiles/memory-store.js';
import { DAY_MS, type DecisionReadOptions, type ProfileStore } from '../../src/profiles/store.js';

const T0 = Date.UTC(2026, 0, 15);

function touchpoint(overrides: Partial<StoredTouchpoint> = {}): StoredTouchpoint {
  return { id: null, type: 'page_view', channel: 'web', at: T0, properties: null, ...overrides };
}

type ReadMethod = 'get' | 'getMany' | 'getForDecision' | 'getManyForDecision';

/**
 * A memory store whose reads can be held: a read takes its snapshot when it is
 * called and answers only when released, so a test can finish a write while
 * the read is still under way.
 */
function createGatedStore() {
  let now = T0;
  const backing = createMemoryStore({ retentionDays: 30, maxTouchpointsPerProfile: 100, now: () => now });
  const calls: Record<ReadMethod, string[][]> = { get: [], getMany: [], getForDecision: [], getManyForDecision: [] };
  let gate: Promise<void> | null = null;
  let release: () => void = () => undefined;
  let failReads = false;
  const decisionReadOptions: Array<DecisionReadOptions | undefined> = [];

  async function held<T>(snapshot: Promise<T>): Promise<T> {
    const value = await snapshot;
    if (gate) await gate;
    if (failReads) throw new Error('inner read failed');
    return value;
  }

  const store: ProfileStore = {
    kind: 'gated',
    get(customerId) {
      calls.get.push([customerId]);
      return held(backing.get(customerId));
    },
    getMany(customerIds) {
      calls.getMany.push([...customerIds]);
      return held(backing.getMany(customerIds));
    },
    getForDecision(customerId) {
      calls.getForDecision.push([customerId]);
      return held(backing.getForDecision(customerId));
    },
    getManyForDecision(customerIds, options) {
      calls.getManyForDecision.push([...customerIds]);
      decisionReadOptions.push(options);
      return held(backing.getManyForDecision(customerIds, options));
    },
    scanDecisionProfiles: (cursor, limit) => backing.scanDecisionProfiles(cursor, limit),
    appendTouchpoints: (customerId, touchpoints, at) => backing.appendTouchpoints(customerId, touchpoints, at),
    appendOutcomes: (customerId, outcomes, at) => backing.appendOutcomes(customerId, outcomes, at),
    outcomeTotals: (items, at) => backing.outcomeTotals(items, at),
    sharedSecret: (name, candidate) => backing.sharedSecret(name, candidate),
    addDecisionNames: (names) => backing.addDecisionNames(names),
    decisionNames: () => backing.decisionNames(),
    resolve: (customerId) => backing.resolve(customerId),
    addAlias: (customerId, alias, at) => backing.addAlias(customerId, alias, at),
    patch: (customerId, change, at) => backing.patch(customerId, change, at),
    delete: (customerId) => backing.delete(customerId),
    sweepExpired: (at) => backing.sweepExpired(at),
    ping: () => backing.ping(),
    close: () => backing.close(),
  };

  return {
    store,
    calls,
    /** The options of each getManyForDecision that reached the inner store. */
    decisionReadOptions,
    /** The ids of the single-id decision reads that reached the inner store. */
    decisionReads: () => calls.getForDecision.map(([id]) => id),
    /** Reads the backing store without counting as an inner read. */
    peek: async (customerId: string) => {
      const profile = await backing.get(customerId);
      return profile && toDecisionProfile(profile);
    },
    setNow(value: number) {
      now = value;
    },
    clock: () => now,
    hold() {
      gate = new Promise((resolve) => {
        release = () => {
          gate = null;
          resolve();
        };
      });
    },
    release: () => release(),
    failReads(value: boolean) {
      failReads = value;
    },
  };
}

function setup(options: Partial<CachedStoreOptions> = {}) {
  const inner = createGatedStore();
  const cached = createCachedStore(inner.store, { max: 100, retentionDays: 30, now: inner.clock, ...options });
  return { inner, cached };
}

/** Lets pending promise callbacks run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** The touchpoint columns as plain arrays, for comparing. */
function columns(profile: DecisionProfile | null | undefined) {
  return profile && { types: [...profile.types], channels: [...profile.channels], at: [...profile.at] };
}

describe('cached profile store', () => {
  describe('full profiles (get, getMany)', () => {
    it('pass through to the inner store on every call, outside the cache', async () => {
      const { inner, cached } = setup();
      await inner.store.appendTouchpoints('c1', [touchpoint({ id: 'a', properties: { sku: 'A-1' } })], T0);
      await cached.getForDecision('c1');
      const first = await cached.get('c1');
      const second = await cached.get('c1');
      expect(second).toEqual(first);
      expect(second).not.toBe(first);
      expect(first?.touchpoints[0]?.properties).toEqual({ sku: 'A-1' });
      expect((await cached.getMany(['c1', 'nobody'])).get('c1')).toEqual(first);
      expect(inner.calls.get).toEqual([['c1'], ['c1']]);
      expect(inner.calls.getMany).toEqual([['c1', 'nobody']]);
      expect(inner.decisionReads()).toEqual(['c1']);
      expect(cached.stats()).toEqual({ hits: 0, misses: 1, size: 1, suspended: false });
    });

    it('do not disturb a cached decision profile', async () => {
      const { inner, cached } = setup();
      await inner.store.patch('c1', { attributes: { a: 1 } }, T0);
      const decision = await cached.getForDecision('c1');
      await cached.get('c1');
      expect(await cached.getForDecision('c1')).toBe(decision);
    });
  });

  it('coalesces concurrent decision reads of one id into one inner read', async () => {
    const { inner, cached } = setup();
    await inner.store.patch('c1', { attributes: { a: 1 } }, T0);
    inner.hold();
    const reads = Array.from({ length: 10 }, () => cached.getForDecision('c1'));
    await settle();
    inner.release();
    const profiles = await Promise.all(reads);
    expect(inner.decisionReads()).toEqual(['c1']);
    expect(new Set(profiles).size).toBe(1);
    expect(profiles[0]?.attributes).toEqual({ a: 1 });
    expect(cached.stats()).toEqual({ hits: 0, misses: 10, size: 1, suspended: false });
    await cached.getForDecision('c1');
    expect(inner.decisionReads()).toHaveLength(1);
    expect(cached.stats().hits).toBe(1);
  });

  it('serves the same columns as the inner store, newest first', async () => {
    const { inner, cached } = setup();
    await inner.store.appendTouchpoints(
      'c1',
      [
        touchpoint({ id: 'a', type: 'email_open', channel: 'email', at: T0 - 2000 }),
        touchpoint({ id: 'b', type: 'cart_add', channel: 'web', at: T0 }),
        touchpoint({ id: 'c', type: 'page_view', channel: 'app', at: T0 - 1000 }),
      ],
      T0,
    );
    await inner.store.patch('c1', { attributes: { tier: 'gold' }, stage: 'purchase' }, T0);
    const profile = await cached.getForDecision('c1');
    expect(profile).toMatchObject({ customerId: 'c1', attributes: { tier: 'gold' }, stage: 'purchase' });
    expect(columns(profile)).toEqual({
      types: ['cart_add', 'page_view', 'email_open'],
      channels: ['web', 'app', 'email'],
      at: [T0, T0 - 1000, T0 - 2000],
    });
    expect(columns(await cached.getForDecision('c1'))).toEqual(columns(await inner.peek('c1')));
  });

  it('caches unknown customers too', async () => {
    const { inner, cached } = setup();
    expect(await cached.getForDecision('anonymous')).toBeNull();
    expect(await cached.getForDecision('anonymous')).toBeNull();
    expect(await cached.getManyForDecision(['anonymous'])).toEqual(new Map());
    expect(inner.decisionReads()).toEqual(['anonymous']);
    expect(inner.calls.getManyForDecision).toEqual([]);
    expect(cached.stats()).toEqual({ hits: 2, misses: 1, size: 1, suspended: false });
  });

  it.each([
    ['appendTouchpoints', (store: ProfileStore) => store.appendTouchpoints('c1', [touchpoint({ id: 'x', type: 'cart_add' })], T0)],
    ['patch', (store: ProfileStore) => store.patch('c1', { attributes: { a: 2 } }, T0)],
    ['delete', (store: ProfileStore) => store.delete('c1')],
  ])('invalidates the id after %s', async (_name, write) => {
    const { inner, cached } = setup();
    await inner.store.patch('c1', { attributes: { a: 1 } }, T0);
    await inner.store.patch('c2', { attributes: { a: 1 } }, T0);
    const before = await cached.getForDecision('c1');
    await cached.getForDecision('c2');
    await write(cached);
    const after = await cached.getForDecision('c1');
    expect(after).not.toEqual(before);
    expect(after).toEqual(await inner.peek('c1'));
    await cached.getForDecision('c2');
    expect(inner.decisionReads()).toEqual(['c1', 'c2', 'c1']);
  });

  it('invalidates after a write that fails', async () => {
    const { inner, cached } = setup();
    await cached.getForDecision('c1');
    await expect(cached.patch('c1', { attributes: { huge: 'x'.repeat(70_000) } }, T0)).rejects.toThrow();
    await cached.getForDecision('c1');
    expect(inner.decisionReads()).toEqual(['c1', 'c1']);
  });

  describe('a write that fails for want of the store', () => {
    /** The gated store whose writes fail with StoreUnavailableError; `land` applies the write first, as a timed-out write may. */
    function setupFailingWrites(land: boolean) {
      const inner = createGatedStore();
      const unavailable = () => new StoreUnavailableError('the store did not answer within 1000 ms');
      const store: ProfileStore = {
        ...inner.store,
        async patch(customerId, change, at) {
          if (land) await inner.store.patch(customerId, change, at);
          throw unavailable();
        },
        async appendTouchpoints(customerId, touchpoints, at) {
          if (land) await inner.store.appendTouchpoints(customerId, touchpoints, at);
          throw unavailable();
        },
        delete: () => Promise.reject(unavailable()),
      };
      return { inner, cached: createCachedStore(store, { max: 100, retentionDays: 30, now: inner.clock }) };
    }

    it('keeps the last known profile, which answers while the store fails', async () => {
      const { inner, cached } = setupFailingWrites(false);
      await inner.store.patch('c1', { attributes: { tier: 'gold' } }, T0);
      await cached.getForDecision('c1');
      await expect(cached.appendTouchpoints('c1', [touchpoint()], T0)).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(cached.patch('c1', { attributes: { tier: 'silver' } }, T0)).rejects.toBeInstanceOf(StoreUnavailableError);
      inner.failReads(true);
      expect((await cached.getForDecision('c1'))?.attributes).toEqual({ tier: 'gold' });
      expect((await cached.getManyForDecision(['c1'])).get('c1')?.attributes).toEqual({ tier: 'gold' });
    });

    it('no longer answers first: the write may have landed, so the next read goes to the store and caches its answer', async () => {
      const { inner, cached } = setupFailingWrites(true);
      await inner.store.patch('c1', { attributes: { tier: 'gold' } }, T0);
      await cached.getForDecision('c1');
      await expect(cached.patch('c1', { attributes: { tier: 'silver' } }, T0)).rejects.toBeInstanceOf(StoreUnavailableError);
      inner.failReads(true);
      expect((await cached.getForDecision('c1'))?.attributes).toEqual({ tier: 'gold' });
      inner.failReads(false);
      expect((await cached.getForDecision('c1'))?.attributes).toEqual({ tier: 'silver' });
      expect((await cached.getForDecision('c1'))?.attributes).toEqual({ tier: 'silver' });
      expect(inner.decisionReads()).toEqual(['c1', 'c1', 'c1']);
    });

    it('a failed delete forgets the entry all the same', async () => {
      const { inner, cached } = setupFailingWrites(false);
      await inner.store.patch('c1', { attributes: { tier: 'gold' } }, T0);
      await cached.getForDecision('c1');
      await expect(cached.delete('c1')).rejects.toBeInstanceOf(StoreUnavailableError);
      inner.failReads(true);
      await expect(cached.getForDecision('c1')).rejects.toThrow('inner read failed');
    });
  });

  it('invalidate() forgets one id', async () => {
    const { inner, cached } = setup();
    await cached.getForDecision('c1');
    await cached.getForDecision('c2');
    cached.invalidate('c1');
    await cached.getForDecision('c1');
    await cached.getForDecision('c2');
    expect(inner.decisionReads()).toEqual(['c1', 'c2', 'c1']);
  });

  describe('a read that overlaps a write', () => {
    it.each([
      ['patch', (store: CachedProfileStore) => store.patch('c1', { attributes: { v: 2 } }, T0).then(() => undefined)],
      ['appendTouchpoints', (store: CachedProfileStore) => store.appendTouchpoints('c1', [touchpoint({ id: 'new' })], T0).then(() => undefined)],
      ['delete', (store: CachedProfileStore) => store.delete('c1').then(() => undefined)],
      ['invalidate', async (store: CachedProfileStore) => store.invalidate('c1')],
    ])('does not cache its stale answer (%s)', async (_name, write) => {
      // The read takes its snapshot before the write and answers after the write resolved.
      const { inner, cached } = setup();
      await inner.store.patch('c1', { attributes: { v: 1 } }, T0);
      inner.hold();
      const staleRead = cached.getForDecision('c1');
      await settle();
      await write(cached);
      inner.release();
      expect((await staleRead)?.attributes).toEqual({ v: 1 });

      expect(await cached.getForDecision('c1')).toEqual(await inner.peek('c1'));
      expect(inner.decisionReads()).toEqual(['c1', 'c1']);
    });

    it('a write through the cache makes the next read see it, though the read began before', async () => {
      const { inner, cached } = setup();
      await inner.store.patch('c1', { attributes: { v: 1 } }, T0);
      inner.hold();
      const staleRead = cached.getForDecision('c1');
      await settle();
      await cached.patch('c1', { attributes: { v: 2 } }, T0);
      // A read that starts after the write resolved must not join the older read.
      const freshRead = cached.getForDecision('c1');
      inner.release();
      expect((await staleRead)?.attributes).toEqual({ v: 1 });
      expect((await freshRead)?.attributes).toEqual({ v: 2 });
      expect((await cached.getForDecision('c1'))?.attributes).toEqual({ v: 2 });
      expect(inner.decisionReads()).toEqual(['c1', 'c1']);
    });

    it('does not cache the stale answers of a getManyForDecision', async () => {
      const { inner, cached } = setup();
      await inner.store.patch('c1', { attributes: { v: 1 } }, T0);
      inner.hold();
      const staleRead = cached.getManyForDecision(['c1', 'c2']);
      await settle();
      await cached.patch('c1', { attributes: { v: 2 } }, T0);
      inner.release();
      expect((await staleRead).get('c1')?.attributes).toEqual({ v: 1 });
      expect((await cached.getForDecision('c1'))?.attributes).toEqual({ v: 2 });
      // c2 was not written, so its (absent) answer stayed cached.
      expect(await cached.getForDecision('c2')).toBeNull();
      expect(inner.decisionReads()).toEqual(['c1']);
    });
  });

  describe('getManyForDecision', () => {
    it('serves hits from the cache and loads all misses with one inner call', async () => {
      const { inner, cached } = setup();
      await inner.store.patch('a', { attributes: { n: 'a' } }, T0);
      await inner.store.patch('b', { attributes: { n: 'b' } }, T0);
      await inner.store.patch('c', { attributes: { n: 'c' } }, T0);
      const a = await cached.getForDecision('a');
      await cached.getForDecision('gone');

      const found = await cached.getManyForDecision(['a', 'b', 'gone', 'c', 'missing', 'b']);
      expect([...found.keys()]).toEqual(['a', 'b', 'c']);
      expect(found.get('a')).toBe(a);
      expect(found.get('c')?.attributes).toEqual({ n: 'c' });
      expect(inner.calls.getManyForDecision).toEqual([['b', 'c', 'missing']]);
      // Kept: the store gives each its own memory.
      expect(inner.decisionReadOptions).toEqual([undefined]);
      expect(cached.stats()).toEqual({ hits: 2, misses: 5, size: 5, suspended: false });

      // Everything, the absent one included, is cached now.
      const again = await cached.getManyForDecision(['a', 'b', 'c', 'missing', 'gone']);
      expect(again.get('b')).toBe(found.get('b'));
      expect(await cached.getForDecision('missing')).toBeNull();
      expect(inner.calls.getManyForDecision).toHaveLength(1);
      expect(inner.decisionReads()).toEqual(['a', 'gone']);
    });

    it('joins a read already under way instead of reading the id again', async () => {
      const { inner, cached } = setup();
      await inner.store.patch('a', {}, T0);
      inner.hold();
      const single = cached.getForDecision('a');
      const many = cached.getManyForDecision(['a', 'b']);
      await settle();
      inner.release();
      expect(await single).not.toBeNull();
      expect([...(await many).keys()]).toEqual(['a']);
      expect((await many).get('a')).toBe(await single);
      expect(inner.decisionReads()).toEqual(['a']);
      expect(inner.calls.getManyForDecision).toEqual([['b']]);
    });

    it('does not call the inner store when everything is cached', async () => {
      const { inner, cached } = setup();
      await cached.getForDecision('x');
      expect((await cached.getManyForDecision(['x', 'x'])).size).toBe(0);
      expect(inner.calls.getManyForDecision).toEqual([]);
    });
  });

  describe('getManyForDecision without caching misses (a send)', () => {
    it('answers hits from the cache, reads misses with one inner call, and keeps none of them', async () => {
      const { inner, cached } = setup();
      await inner.store.patch('a', { attributes: { n: 'a' } }, T0);
      await inner.store.patch('b', { attributes: { n: 'b' } }, T0);
      const a = await cached.getForDecision('a');
      expect(cached.stats().size).toBe(1);

      const found = await cached.getManyForDecision(['a', 'b', 'missing', 'b'], { cacheMisses: false });
      expect([...found.keys()]).toEqual(['a', 'b']);
      expect(found.get('a')).toBe(a);
      expect(found.get('b')?.attributes).toEqual({ n: 'b' });
      expect(inner.calls.getManyForDecision).toEqual([['b', 'missing']]);
      // The store is told so too: what it answers may share memory (the SQLite store's times).
      expect(inner.decisionReadOptions).toEqual([{ cacheMisses: false }]);
      expect(cached.stats()).toEqual({ hits: 1, misses: 3, size: 1, suspended: false });

      // Not kept: read again from the store, by the stream and by a page alike.
      await cached.getManyForDecision(['b'], { cacheMisses: false });
      expect(inner.calls.getManyForDecision).toEqual([['b', 'missing'], ['b']]);
      await cached.getForDecision('missing');
      expect(inner.decisionReads()).toEqual(['a', 'missing']);
    });

    it('sees every write that has resolved, whether the customer was cached or not', async () => {
      const { inner, cached } = setup();
      await cached.appendTouchpoints('a', [touchpoint({ type: 'first' })], T0);
      await cached.getForDecision('a');
      await cached.appendTouchpoints('a', [touchpoint({ type: 'second', at: T0 + 1 })], T0);
      await cached.appendTouchpoints('b', [touchpoint({ type: 'only' })], T0);
      const found = await cached.getManyForDecision(['a', 'b'], { cacheMisses: false });
      expect(found.get('a')?.types).toEqual(['second', 'first']);
      expect(found.get('b')?.types).toEqual(['only']);
      // The write dropped a's entry; the read past the cache did not put it back.
      expect(cached.stats().size).toBe(0);
      expect(inner.calls.getManyForDecision).toEqual([['a', 'b']]);
    });

    it('joins a read already under way, which caches what it read as it would have', async () => {
      const { inner, cached } = setup();
      await inner.store.patch('a', {}, T0);
      inner.hold();
      const single = cached.getForDecision('a');
      const many = cached.getManyForDecision(['a', 'b'], { cacheMisses: false });
      await settle();
      inner.release();
      expect((await many).get('a')).toBe(await single);
      expect(inner.calls.getManyForDecision).toEqual([['b']]);
      expect(cached.stats().size).toBe(1);
    });

    it('answers from entries kept for an outage when the store fails, and fails when it has none', async () => {
      const { inner, cached } = setup();
      await inner.store.patch('a', { attributes: { n: 'a' } }, T0);
      const a = await cached.getForDecision('a');
      cached.suspend();
      inner.failReads(true);
      expect((await cached.getManyForDecision(['a'], { cacheMisses: false })).get('a')).toBe(a);
      await expect(cached.getManyForDecision(['a', 'b'], { cacheMisses: false })).rejects.toThrow('inner read failed');
    });
  });

  describe('failures', () => {
    it('passes a failed read to every waiter and caches nothing', async () => {
      const { inner, cached } = setup();
      inner.failReads(true);
      inner.hold();
      const reads = [cached.getForDecision('c1'), cached.getForDecision('c1')];
      const many = cached.getManyForDecision(['c2', 'c3']);
      await settle();
      inner.release();
      for (const read of reads) await expect(read).rejects.toThrow('inner read failed');
      await expect(many).rejects.toThrow('inner read failed');

      inner.failReads(false);
      expect(await cached.getForDecision('c1')).toBeNull();
      expect(await cached.getForDecision('c3')).toBeNull();
      expect(inner.decisionReads()).toEqual(['c1', 'c1', 'c3']);
    });

    it('survives an inner store that throws instead of rejecting', async () => {
      const { inner, cached } = setup();
      inner.store.getManyForDecision = () => {
        throw new Error('thrown synchronously');
      };
      await expect(cached.getManyForDecision(['a'])).rejects.toThrow('thrown synchronously');
      expect(cached.stats().size).toBe(0);
    });
  });

  describe('suspended (a shared store whose change feed is down)', () => {
    it('reads through to the store, so a change made elsewhere is seen at once', async () => {
      const { inner, cached } = setup();
      await cached.getForDecision('c1');
      cached.suspend();
      // Another replica writes: nothing tells this cache.
      await inner.store.patch('c1', { attributes: { tier: 'gold' } }, T0);
      expect((await cached.getForDecision('c1'))?.attributes).toEqual({ tier: 'gold' });
      expect((await cached.getManyForDecision(['c1'])).get('c1')?.attributes).toEqual({ tier: 'gold' });
      expect(inner.decisionReads()).toEqual(['c1', 'c1']);
      expect(inner.calls.getManyForDecision).toEqual([['c1']]);
    });

    it('answers from the cached entry when the store fails, and fails only where it has none', async () => {
      const { inner, cached } = setup();
      await inner.store.patch('known', { attributes: { tier: 'gold' } }, T0);
      await cached.getManyForDecision(['known', 'absent']);
      cached.suspend();
      inner.failReads(true);
      expect((await cached.getForDecision('known'))?.attributes).toEqual({ tier: 'gold' });
      expect(await cached.getForDecision('absent')).toBeNull();
      const both = await cached.getManyForDecision(['known', 'absent']);
      expect([...both.keys()]).toEqual(['known']);
      await expect(cached.getForDecision('stranger')).rejects.toThrow('inner read failed');
      await expect(cached.getManyForDecision(['known', 'stranger'])).rejects.toThrow('inner read failed');
    });

    it('after resume, entries from before answer no read first, since invalidations may have been missed', async () => {
      const { inner, cached } = setup();
      await cached.getForDecision('c1');
      cached.suspend();
      await inner.store.patch('c1', { attributes: { v: 1 } }, T0);
      cached.resume();
      expect(cached.stats().size).toBe(0);
      expect((await cached.getForDecision('c1'))?.attributes).toEqual({ v: 1 });
      expect((await cached.getForDecision('c1'))?.attributes).toEqual({ v: 1 });
      expect(inner.decisionReads()).toEqual(['c1', 'c1']);
    });

    it('after resume, entries from before answer while the store still fails, until it answers once', async () => {
      const { inner, cached } = setup();
      await inner.store.patch('c1', { attributes: { tier: 'gold' } }, T0);
      await cached.getManyForDecision(['c1', 'c2']);
      cached.suspend();
      inner.failReads(true);
      cached.resume();
      // The store came back for the change feed but still refuses reads (a circuit breaker still open).
      expect((await cached.getForDecision('c1'))?.attributes).toEqual({ tier: 'gold' });
      expect([...(await cached.getManyForDecision(['c1', 'c2'])).keys()]).toEqual(['c1']);
      inner.failReads(false);
      expect(await cached.getForDecision('c2')).toBeNull();
      // One answer from the store retires the old entries.
      inner.failReads(true);
      await expect(cached.getForDecision('c1')).rejects.toThrow('inner read failed');
    });

    it('an invalidation reaches entries kept from before a resume', async () => {
      const { inner, cached } = setup();
      await inner.store.patch('c1', { attributes: { tier: 'gold' } }, T0);
      await cached.getForDecision('c1');
      cached.suspend();
      cached.resume();
      cached.invalidate('c1');
      inner.failReads(true);
      await expect(cached.getForDecision('c1')).rejects.toThrow('inner read failed');
    });
  });

  describe('entries', () => {
    it('evicts the least recently used entry beyond max', async () => {
      const { inner, cached } = setup({ max: 2 });
      await cached.getForDecision('a');
      await cached.getForDecision('b');
      await cached.getForDecision('a');
      await cached.getForDecision('c');
      expect(cached.stats().size).toBe(2);
      await cached.getForDecision('a');
      expect(inner.decisionReads()).toEqual(['a', 'b', 'c']);
      await cached.getForDecision('b');
      expect(inner.decisionReads()).toEqual(['a', 'b', 'c', 'b']);
    });

    it('with max 0 caches nothing but still coalesces', async () => {
      const { inner, cached } = setup({ max: 0 });
      inner.hold();
      const reads = [cached.getForDecision('a'), cached.getForDecision('a')];
      const many = cached.getManyForDecision(['a', 'b']);
      await settle();
      inner.release();
      await Promise.all([...reads, many]);
      await cached.getForDecision('a');
      await cached.getManyForDecision(['b']);
      expect(inner.decisionReads()).toEqual(['a', 'a']);
      expect(inner.calls.getManyForDecision).toEqual([['b'], ['b']]);
      expect(cached.stats().size).toBe(0);
    });

    it('ages a cached profile by retention without reading again, dropping the tail of every column', async () => {
      const { inner, cached } = setup();
      await inner.store.appendTouchpoints(
        'a',
        [
          touchpoint({ id: 'old', type: 'email_open', channel: 'email', at: T0 - 20 * DAY_MS }),
          touchpoint({ id: 'mid', type: 'cart_add', channel: 'app', at: T0 - 10 * DAY_MS }),
          touchpoint({ id: 'new' }),
        ],
        T0,
      );
      await inner.store.patch('a', { attributes: { tier: 'gold' } }, T0);
      const fresh = await cached.getForDecision('a');
      expect(fresh?.at).toHaveLength(3);

      inner.setNow(T0 + 15 * DAY_MS);
      const aged = await cached.getForDecision('a');
      expect(columns(aged)).toEqual({ types: ['page_view', 'cart_add'], channels: ['web', 'app'], at: [T0, T0 - 10 * DAY_MS] });
      // A copy, not a view: the dropped tail's memory is released.
      expect(aged?.at.buffer.byteLength).toBe(2 * Float64Array.BYTES_PER_ELEMENT);
      expect(aged?.attributes).toBe(fresh?.attributes);
      expect(Object.isFrozen(aged)).toBe(true);
      expect(Object.isFrozen(aged?.types)).toBe(true);
      expect(Object.isFrozen(aged?.channels)).toBe(true);
      // The earlier answer is left as it was, and the aged one replaces it in the cache.
      expect(fresh?.at).toHaveLength(3);
      expect(await cached.getForDecision('a')).toBe(aged);
      expect(columns(aged)).toEqual(columns(await inner.peek('a')));

      inner.setNow(T0 + 31 * DAY_MS);
      expect(columns((await cached.getManyForDecision(['a'])).get('a'))).toEqual({ types: [], channels: [], at: [] });
      expect(inner.decisionReads()).toEqual(['a']);
      expect(inner.calls.getManyForDecision).toEqual([]);
    });

    it('without a retention rule, starts over after a sweep that dropped touchpoints', async () => {
      const { inner, cached } = setup({ retentionDays: undefined });
      await inner.store.appendTouchpoints('a', [touchpoint({ at: T0 - 20 * DAY_MS })], T0);
      await cached.getForDecision('a');
      expect(await cached.sweepExpired(T0 + 15 * DAY_MS)).toBe(1);
      expect(cached.stats().size).toBe(0);
      expect(columns(await cached.getForDecision('a'))?.at).toEqual([]);
      expect(await cached.sweepExpired(T0 + 15 * DAY_MS)).toBe(0);
      expect(cached.stats().size).toBe(1);
    });

    it('returns frozen decision profiles, shared between callers', async () => {
      const { inner, cached } = setup();
      await inner.store.appendTouchpoints('a', [touchpoint({ properties: { n: 1 } })], T0);
      await inner.store.patch('a', { attributes: { prefs: { email: true, topics: ['running'] } } }, T0);
      const first = (await cached.getForDecision('a')) as DecisionProfile;
      expect(await cached.getForDecision('a')).toBe(first);
      expect(Object.isFrozen(first)).toBe(true);
      expect(Object.isFrozen(first.types)).toBe(true);
      expect(Object.isFrozen(first.channels)).toBe(true);
      expect(Object.isFrozen(first.attributes)).toBe(true);
      expect(Object.isFrozen(first.attributes.prefs)).toBe(true);
      expect(Object.isFrozen((first.attributes.prefs as JsonObject).topics)).toBe(true);
      expect(() => {
        (first.attributes as JsonObject).x = 1;
      }).toThrow(TypeError);
      expect(() => {
        (first.types as string[]).push('fake');
      }).toThrow(TypeError);
      // A Float64Array cannot be frozen: `at` is shared as is, and callers must only read it.
      expect(first.at).toBe((await cached.getForDecision('a'))?.at);
    });

    it('does not freeze anything the inner store still holds', async () => {
      const { inner, cached } = setup();
      await inner.store.patch('a', { attributes: { prefs: { email: true } } }, T0);
      await cached.getForDecision('a');
      await cached.patch('a', { attributes: { prefs: { sms: true } } }, T0);
      expect((await cached.getForDecision('a'))?.attributes).toEqual({ prefs: { email: true, sms: true } });
    });

    it('reports the inner kind and closes the inner store', async () => {
      const { inner, cached } = setup();
      await cached.getForDecision('a');
      expect(cached.kind).toBe('gated');
      await cached.close();
      expect(cached.stats().size).toBe(0);
      await expect(inner.store.ping()).rejects.toThrow();
    });
  });
});
