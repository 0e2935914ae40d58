import { describe, expect, it } from 'vitest';
import type { Profile } from '../../src/domain/profile.js';
import type { StoredTouchpoint } from '../../src/domain/touchpoint.js';
import { createCachedStore, type CachedStoreOptions } from '../../src/profiles/cached-store.js';
import { createMemoryStore } from '../../src/profiles/memory-store.js';
import { DAY_MS, type ProfileStore } from '../../src/profiles/store.js';

const T0 = Date.UTC(2026, 0, 15);

function touchpoint(overrides: Partial<StoredTouchpoint> = {}): StoredTouchpoint {
  return { id: null, type: 'page_view', channel: 'web', at: T0, properties: null, ...overrides };
}

/**
 * A memory store whose reads can be held: a read takes its snapshot when it is
 * called and answers only when released, so a test can finish a write while
 * the read is still under way.
 */
function createGatedStore() {
  let now = T0;
  const backing = createMemoryStore({ retentionDays: 30, maxTouchpointsPerProfile: 100, now: () => now });
  const calls = { get: [] as string[], getMany: [] as string[][] };
  let gate: Promise<void> | null = null;
  let release: () => void = () => undefined;
  let failReads = false;

  async function held<T>(snapshot: Promise<T>): Promise<T> {
    const value = await snapshot;
    if (gate) await gate;
    if (failReads) throw new Error('inner read failed');
    return value;
  }

  const store: ProfileStore = {
    kind: 'gated',
    get(customerId) {
      calls.get.push(customerId);
      return held(backing.get(customerId));
    },
    getMany(customerIds) {
      calls.getMany.push([...customerIds]);
      return held(backing.getMany(customerIds));
    },
    appendTouchpoints: (customerId, touchpoints, at) => backing.appendTouchpoints(customerId, touchpoints, at),
    patch: (customerId, change, at) => backing.patch(customerId, change, at),
    delete: (customerId) => backing.delete(customerId),
    sweepExpired: (at) => backing.sweepExpired(at),
    ping: () => backing.ping(),
    close: () => backing.close(),
  };

  return {
    store,
    calls,
    /** Reads the backing store without counting as an inner read. */
    peek: (customerId: string) => backing.get(customerId),
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

describe('cached profile store', () => {
  it('coalesces concurrent gets of one id into one inner read', async () => {
    const { inner, cached } = setup();
    await inner.store.patch('c1', { attributes: { a: 1 } }, T0);
    inner.hold();
    const reads = Array.from({ length: 10 }, () => cached.get('c1'));
    await settle();
    inner.release();
    const profiles = await Promise.all(reads);
    expect(inner.calls.get).toEqual(['c1']);
    expect(new Set(profiles).size).toBe(1);
    expect(profiles[0]?.attributes).toEqual({ a: 1 });
    expect(cached.stats()).toEqual({ hits: 0, misses: 10, size: 1 });
    await cached.get('c1');
    expect(inner.calls.get).toHaveLength(1);
    expect(cached.stats().hits).toBe(1);
  });

  it('caches unknown customers too', async () => {
    const { inner, cached } = setup();
    expect(await cached.get('anonymous')).toBeNull();
    expect(await cached.get('anonymous')).toBeNull();
    expect(await cached.getMany(['anonymous'])).toEqual(new Map());
    expect(inner.calls.get).toEqual(['anonymous']);
    expect(inner.calls.getMany).toEqual([]);
    expect(cached.stats()).toEqual({ hits: 2, misses: 1, size: 1 });
  });

  it.each([
    ['appendTouchpoints', (store: ProfileStore) => store.appendTouchpoints('c1', [touchpoint({ id: 'x' })], T0)],
    ['patch', (store: ProfileStore) => store.patch('c1', { attributes: { a: 2 } }, T0)],
    ['delete', (store: ProfileStore) => store.delete('c1')],
  ])('invalidates the id after %s', async (_name, write) => {
    const { inner, cached } = setup();
    await inner.store.patch('c1', { attributes: { a: 1 } }, T0);
    await inner.store.patch('c2', { attributes: { a: 1 } }, T0);
    await cached.get('c1');
    await cached.get('c2');
    await write(cached);
    expect(await cached.get('c1')).toEqual(await inner.peek('c1'));
    await cached.get('c2');
    expect(inner.calls.get).toEqual(['c1', 'c2', 'c1']);
  });

  it('invalidates after a write that fails', async () => {
    const { inner, cached } = setup();
    await cached.get('c1');
    await expect(cached.patch('c1', { attributes: { huge: 'x'.repeat(70_000) } }, T0)).rejects.toThrow();
    await cached.get('c1');
    expect(inner.calls.get).toEqual(['c1', 'c1']);
  });

  it('invalidate() forgets one id', async () => {
    const { inner, cached } = setup();
    await cached.get('c1');
    await cached.get('c2');
    cached.invalidate('c1');
    await cached.get('c1');
    await cached.get('c2');
    expect(inner.calls.get).toEqual(['c1', 'c2', 'c1']);
  });

  describe('a read that overlaps a write', () => {
    it.each([
      ['patch', (store: ProfileStore) => store.patch('c1', { attributes: { v: 2 } }, T0).then(() => undefined)],
      ['appendTouchpoints', (store: ProfileStore) => store.appendTouchpoints('c1', [touchpoint({ id: 'new' })], T0).then(() => undefined)],
      ['delete', (store: ProfileStore) => store.delete('c1').then(() => undefined)],
      ['invalidate', async (store: ProfileStore) => (store as ReturnType<typeof createCachedStore>).invalidate('c1')],
    ])('does not cache its stale answer (%s)', async (_name, write) => {
      // The read takes its snapshot before the write and answers after the write resolved.
      const { inner, cached } = setup();
      await inner.store.patch('c1', { attributes: { v: 1 } }, T0);
      inner.hold();
      const staleRead = cached.get('c1');
      await settle();
      await write(cached);
      inner.release();
      expect((await staleRead)?.attributes).toEqual({ v: 1 });

      expect(await cached.get('c1')).toEqual(await inner.peek('c1'));
      expect(inner.calls.get).toEqual(['c1', 'c1']);
    });

    it('a write through the cache makes the next read see it, though the read began before', async () => {
      const { inner, cached } = setup();
      await inner.store.patch('c1', { attributes: { v: 1 } }, T0);
      inner.hold();
      const staleRead = cached.get('c1');
      await settle();
      await cached.patch('c1', { attributes: { v: 2 } }, T0);
      // A read that starts after the write resolved must not join the older read.
      const freshRead = cached.get('c1');
      inner.release();
      expect((await staleRead)?.attributes).toEqual({ v: 1 });
      expect((await freshRead)?.attributes).toEqual({ v: 2 });
      expect((await cached.get('c1'))?.attributes).toEqual({ v: 2 });
      expect(inner.calls.get).toEqual(['c1', 'c1']);
    });

    it('does not cache the stale answers of a getMany', async () => {
      const { inner, cached } = setup();
      await inner.store.patch('c1', { attributes: { v: 1 } }, T0);
      inner.hold();
      const staleRead = cached.getMany(['c1', 'c2']);
      await settle();
      await cached.patch('c1', { attributes: { v: 2 } }, T0);
      inner.release();
      expect((await staleRead).get('c1')?.attributes).toEqual({ v: 1 });
      expect((await cached.get('c1'))?.attributes).toEqual({ v: 2 });
      // c2 was not written, so its (absent) answer stayed cached.
      expect(await cached.get('c2')).toBeNull();
      expect(inner.calls.get).toEqual(['c1']);
    });
  });

  describe('getMany', () => {
    it('serves hits from the cache and loads all misses with one inner call', async () => {
      const { inner, cached } = setup();
      await inner.store.patch('a', { attributes: { n: 'a' } }, T0);
      await inner.store.patch('b', { attributes: { n: 'b' } }, T0);
      await inner.store.patch('c', { attributes: { n: 'c' } }, T0);
      await cached.get('a');
      await cached.get('gone');

      const found = await cached.getMany(['a', 'b', 'gone', 'c', 'missing', 'b']);
      expect([...found.keys()]).toEqual(['a', 'b', 'c']);
      expect(found.get('c')?.attributes).toEqual({ n: 'c' });
      expect(inner.calls.getMany).toEqual([['b', 'c', 'missing']]);
      expect(cached.stats()).toEqual({ hits: 2, misses: 5, size: 5 });

      // Everything, the absent one included, is cached now.
      await cached.getMany(['a', 'b', 'c', 'missing', 'gone']);
      expect(await cached.get('missing')).toBeNull();
      expect(inner.calls.getMany).toHaveLength(1);
      expect(inner.calls.get).toEqual(['a', 'gone']);
    });

    it('joins a get already under way instead of reading the id again', async () => {
      const { inner, cached } = setup();
      await inner.store.patch('a', {}, T0);
      inner.hold();
      const single = cached.get('a');
      const many = cached.getMany(['a', 'b']);
      await settle();
      inner.release();
      expect(await single).not.toBeNull();
      expect([...(await many).keys()]).toEqual(['a']);
      expect(inner.calls.get).toEqual(['a']);
      expect(inner.calls.getMany).toEqual([['b']]);
    });

    it('does not call the inner store when everything is cached', async () => {
      const { inner, cached } = setup();
      await cached.get('x');
      expect((await cached.getMany(['x', 'x'])).size).toBe(0);
      expect(inner.calls.getMany).toEqual([]);
    });
  });

  describe('failures', () => {
    it('passes a failed read to every waiter and caches nothing', async () => {
      const { inner, cached } = setup();
      inner.failReads(true);
      inner.hold();
      const reads = [cached.get('c1'), cached.get('c1')];
      const many = cached.getMany(['c2', 'c3']);
      await settle();
      inner.release();
      for (const read of reads) await expect(read).rejects.toThrow('inner read failed');
      await expect(many).rejects.toThrow('inner read failed');

      inner.failReads(false);
      expect(await cached.get('c1')).toBeNull();
      expect(await cached.get('c3')).toBeNull();
      expect(inner.calls.get).toEqual(['c1', 'c1', 'c3']);
    });
  });

  describe('entries', () => {
    it('evicts the least recently used entry beyond max', async () => {
      const { inner, cached } = setup({ max: 2 });
      await cached.get('a');
      await cached.get('b');
      await cached.get('a');
      await cached.get('c');
      expect(cached.stats().size).toBe(2);
      await cached.get('a');
      expect(inner.calls.get).toEqual(['a', 'b', 'c']);
      await cached.get('b');
      expect(inner.calls.get).toEqual(['a', 'b', 'c', 'b']);
    });

    it('with max 0 caches nothing but still coalesces', async () => {
      const { inner, cached } = setup({ max: 0 });
      inner.hold();
      const reads = [cached.get('a'), cached.get('a')];
      await settle();
      inner.release();
      await Promise.all(reads);
      await cached.get('a');
      expect(inner.calls.get).toEqual(['a', 'a']);
      expect(cached.stats().size).toBe(0);
    });

    it('expires entries after ttlMs', async () => {
      const { inner, cached } = setup({ ttlMs: 20 });
      await cached.get('a');
      await cached.get('a');
      await new Promise((resolve) => setTimeout(resolve, 40));
      await cached.get('a');
      expect(inner.calls.get).toEqual(['a', 'a']);
    });

    it('ages a cached profile by retention without reading again', async () => {
      const { inner, cached } = setup();
      await inner.store.appendTouchpoints('a', [touchpoint({ id: 'old', at: T0 - 20 * DAY_MS }), touchpoint({ id: 'new' })], T0);
      expect((await cached.get('a'))?.touchpoints).toHaveLength(2);
      inner.setNow(T0 + 15 * DAY_MS);
      expect((await cached.get('a'))?.touchpoints.map((tp) => tp.id)).toEqual(['new']);
      expect((await cached.getMany(['a'])).get('a')?.touchpoints.map((tp) => tp.id)).toEqual(['new']);
      expect(inner.calls.get).toEqual(['a']);
    });

    it('returns frozen profiles, shared between callers', async () => {
      const { inner, cached } = setup();
      await inner.store.appendTouchpoints('a', [touchpoint({ properties: { n: 1 } })], T0);
      await inner.store.patch('a', { attributes: { prefs: { email: true } } }, T0);
      const first = (await cached.get('a')) as Profile;
      expect(await cached.get('a')).toBe(first);
      expect(Object.isFrozen(first)).toBe(true);
      expect(Object.isFrozen(first.touchpoints)).toBe(true);
      expect(Object.isFrozen(first.touchpoints[0])).toBe(true);
      expect(Object.isFrozen(first.attributes.prefs)).toBe(true);
      expect(() => {
        first.attributes.x = 1;
      }).toThrow(TypeError);
    });

    it('reports the inner kind and closes the inner store', async () => {
      const { inner, cached } = setup();
      await cached.get('a');
      expect(cached.kind).toBe('gated');
      await cached.close();
      expect(cached.stats().size).toBe(0);
      await expect(inner.store.ping()).rejects.toThrow();
    });
  });
});
