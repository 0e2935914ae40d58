import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toDecisionProfile } from '../../src/domain/decision-profile.js';
import { createCachedStore } from '../../src/profiles/cached-store.js';
import { createMemoryStore } from '../../src/profiles/memory-store.js';
import { createSqliteStore } from '../../src/profiles/sqlite-store.js';
import { DAY_MS, type ProfileStore, type StoreLimits } from '../../src/profiles/store.js';
import { runProfileStoreContract } from './profile-store.contract.js';
import { openRedisStore } from './redis-helpers.js';
import { makeTempDir } from './temp-dir.js';

function cacheOver(inner: ProfileStore, limits: StoreLimits) {
  return createCachedStore(inner, { max: 100, retentionDays: limits.retentionDays, ...(limits.now ? { now: limits.now } : {}) });
}

runProfileStoreContract('cached(memory)', async (limits) => {
  const store = cacheOver(createMemoryStore(limits), limits);
  return { store, cleanup: () => store.close() };
});

runProfileStoreContract('cached(sqlite)', async (limits) => {
  const temp = makeTempDir();
  const file = path.join(temp.dir, 'profiles.db');
  const stores = [cacheOver(createSqliteStore({ ...limits, path: file }), limits)];
  return {
    store: stores[0] as ProfileStore,
    async openAnother() {
      const another = cacheOver(createSqliteStore({ ...limits, path: file }), limits);
      stores.push(another);
      return another;
    },
    async cleanup() {
      for (const store of stores) await store.close();
      temp.remove();
    },
  };
});

runProfileStoreContract('cached(redis)', (limits) => openRedisStore(limits, { wrap: (store) => cacheOver(store, limits) }));

// A cache too small for the suite's profiles keeps evicting, which exercises the miss paths.
runProfileStoreContract('cached(memory), one entry', async (limits) => {
  const store = createCachedStore(createMemoryStore(limits), { max: 1, retentionDays: limits.retentionDays, ...(limits.now ? { now: limits.now } : {}) });
  return { store, cleanup: () => store.close() };
});

/**
 * Whatever mix of reads, writes and invalidations runs concurrently, once they
 * have all settled a decision read answers what the inner store holds now: a
 * read that overlapped a write never leaves its stale answer in the cache.
 */
describe('cached store: decision reads after concurrent operations', () => {
  const T0 = Date.UTC(2026, 0, 15);
  const MINUTE = 60_000;
  const ids = ['a', 'b', 'c'];
  const id = fc.constantFrom(...ids);
  const operation = fc.oneof(
    fc.record({
      kind: fc.constant('append' as const),
      id,
      touchpoints: fc.array(
        fc.record({ type: fc.constantFrom('page_view', 'cart_add', 'email_open'), channel: fc.constantFrom('web', 'email'), ageMinutes: fc.integer({ min: 0, max: 50 * 24 * 60 }) }),
        { maxLength: 3 },
      ),
    }),
    fc.record({ kind: fc.constant('patch' as const), id, tier: fc.constantFrom('gold', 'silver', null), stage: fc.constantFrom('purchase', null, undefined) }),
    fc.record({ kind: fc.constant('delete' as const), id }),
    fc.record({ kind: fc.constant('invalidate' as const), id }),
    fc.record({ kind: fc.constant('read' as const), id }),
    fc.record({ kind: fc.constant('readMany' as const), ids: fc.subarray(ids) }),
  );
  type Operation = typeof operation extends fc.Arbitrary<infer T> ? T : never;
  const rounds = fc.array(fc.record({ advanceDays: fc.integer({ min: 0, max: 20 }), concurrent: fc.array(operation, { minLength: 1, maxLength: 6 }) }), {
    minLength: 1,
    maxLength: 6,
  });

  function run(store: ReturnType<typeof createCachedStore>, op: Operation, now: number): Promise<unknown> {
    switch (op.kind) {
      case 'append':
        return store.appendTouchpoints(
          op.id,
          op.touchpoints.map((tp) => ({ id: null, type: tp.type, channel: tp.channel, at: now - tp.ageMinutes * MINUTE, properties: null })),
          now,
        );
      case 'patch':
        return store.patch(op.id, { attributes: { tier: op.tier }, ...(op.stage === undefined ? {} : { stage: op.stage }) }, now);
      case 'delete':
        return store.delete(op.id);
      case 'invalidate':
        store.invalidate(op.id);
        return Promise.resolve();
      case 'read':
        return store.getForDecision(op.id);
      case 'readMany':
        return store.getManyForDecision(op.ids);
    }
  }

  const backends: Array<[string, (limits: StoreLimits) => { inner: ProfileStore; cleanup(): void }]> = [
    ['memory', (limits) => ({ inner: createMemoryStore(limits), cleanup: () => undefined })],
    [
      'sqlite',
      (limits) => {
        const temp = makeTempDir();
        return { inner: createSqliteStore({ ...limits, path: path.join(temp.dir, 'profiles.db'), synchronous: 'NORMAL' }), cleanup: temp.remove };
      },
    ],
  ];

  it.each(backends)('over %s', async (_name, open) => {
    await fc.assert(
      fc.asyncProperty(rounds, fc.integer({ min: 0, max: 3 }), async (plan, max) => {
        let now = T0;
        const limits: StoreLimits = { retentionDays: 30, maxTouchpointsPerProfile: 4, now: () => now };
        const { inner, cleanup } = open(limits);
        const store = createCachedStore(inner, { max, retentionDays: 30, now: () => now });
        try {
          for (const round of plan) {
            now += round.advanceDays * DAY_MS;
            await Promise.all(round.concurrent.map((op) => run(store, op, now)));
            for (const customerId of ids) {
              const truth = await inner.get(customerId);
              const want = truth && toDecisionProfile(truth);
              expect(await store.getForDecision(customerId)).toEqual(want);
              expect((await store.getManyForDecision([customerId])).get(customerId) ?? null).toEqual(want);
            }
          }
        } finally {
          await store.close();
          cleanup();
        }
      }),
      { numRuns: 60 },
    );
  });
});
