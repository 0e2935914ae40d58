/**
 * Property (contract section 11): any sequence of touchpoints, outcomes and
 * merges among a few ids, once every id is merged into one customer, leaves
 * that customer with the same touchpoints and outcomes as sending them all
 * to one id. Delivery is idempotent, so a touchpoint's content is a function
 * of its id (the same id is the same event), and an outcome's of its key.
 */
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { StoredOutcome } from '../../src/domain/outcome.js';
import type { StoredTouchpoint } from '../../src/domain/touchpoint.js';
import { createMemoryStore } from '../../src/profiles/memory-store.js';
import { createSqliteStore } from '../../src/profiles/sqlite-store.js';
import type { ProfileStore, StoreLimits } from '../../src/profiles/store.js';
import { makeTempDir, removeTempDirs } from '../http/harness.js';
import { openRedisStore } from './redis-helpers.js';

const T0 = Date.UTC(2026, 0, 15, 12);
const IDS = ['u0', 'u1', 'u2', 'u3'];
const limits: StoreLimits = { retentionDays: 30, maxTouchpointsPerProfile: 1000, now: () => T0 };

type Op =
  | { kind: 'touch'; customer: number; touchpoint: number | null; minutesAgo: number }
  | { kind: 'outcome'; customer: number; decision: number }
  | { kind: 'merge'; into: number; alias: number };

const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('touch' as const), customer: fc.nat(3), touchpoint: fc.option(fc.nat(8), { nil: null }), minutesAgo: fc.nat(60) }),
  fc.record({ kind: fc.constant('outcome' as const), customer: fc.nat(3), decision: fc.nat(5) }),
  fc.record({ kind: fc.constant('merge' as const), into: fc.nat(3), alias: fc.nat(3) }),
);

function touchpointOf(id: number | null, minutesAgo: number): StoredTouchpoint {
  // An id-less touchpoint is always a new event; one with an id is the same event whenever it is sent.
  const at = id === null ? T0 - minutesAgo * 60_000 : T0 - id * 60_000;
  return { id: id === null ? null : `t${id}`, type: id === null ? 'page_view' : `type-${id}`, channel: 'web', at, properties: null };
}

function outcomeOf(decision: number): StoredOutcome {
  return { decisionId: `d${decision}`, placement: 'home-hero', item: 'hero-a', rule: 'r', arm: null, kind: 'click', at: T0 - decision * 60_000, value: null };
}

const summary = (touchpoints: readonly StoredTouchpoint[]) => touchpoints.map((tp) => `${tp.id ?? '-'}|${tp.type}|${tp.at}`).sort();

async function check(open: () => Promise<ProfileStore>, ops: readonly Op[]): Promise<void> {
  const merged = await open();
  const reference = await open();
  try {
    for (const op of ops) {
      if (op.kind === 'touch') {
        const tp = touchpointOf(op.touchpoint, op.minutesAgo);
        await merged.appendTouchpoints(IDS[op.customer] as string, [tp], T0);
        await reference.appendTouchpoints('one', [tp], T0);
      } else if (op.kind === 'outcome') {
        await merged.appendOutcomes(IDS[op.customer] as string, [outcomeOf(op.decision)], T0);
        await reference.appendOutcomes('one', [outcomeOf(op.decision)], T0);
      } else if (op.into !== op.alias) {
        const result = await merged.addAlias(IDS[op.into] as string, IDS[op.alias] as string, T0);
        // Merging two ids of different customers must work; only an id already of a third customer conflicts.
        if (result.kind === 'conflict') expect(await merged.resolve(IDS[op.alias] as string)).not.toBe(await merged.resolve(IDS[op.into] as string));
      }
    }
    // Finally every id becomes one customer: merge each one's canonical customer into u0's.
    for (const id of IDS) {
      const canonical = await merged.resolve(id);
      const target = await merged.resolve('u0');
      if (canonical !== target) expect((await merged.addAlias(target, canonical, T0)).kind).toBe('merged');
    }
    const canonicals = new Set(await Promise.all(IDS.map((id) => merged.resolve(id))));
    expect(canonicals.size).toBe(1);
    const profile = await merged.get('u0');
    const expected = await reference.get('one');
    expect(summary(profile?.touchpoints ?? [])).toEqual(summary(expected?.touchpoints ?? []));
    expect((profile?.outcomes ?? []).map((o) => o.decisionId).sort()).toEqual((expected?.outcomes ?? []).map((o) => o.decisionId).sort());
    for (const id of IDS) expect((await merged.get(id))?.customerId).toBe(profile?.customerId);
    expect([...(profile?.aliases ?? []), profile?.customerId].sort()).toEqual(
      IDS.filter((id) => id === profile?.customerId || (profile?.aliases ?? []).includes(id)).sort(),
    );
  } finally {
    await merged.close();
    await reference.close();
  }
}

describe('merging is the same as sending everything to one id', () => {
  afterAll(removeTempDirs);

  it('memory store', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArbitrary, { maxLength: 40 }), (ops) => check(async () => createMemoryStore(limits), ops)),
      { numRuns: 200 },
    );
  });

  it('sqlite store', async () => {
    const dir = makeTempDir();
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(opArbitrary, { maxLength: 30 }), (ops) =>
        check(async () => createSqliteStore({ ...limits, path: path.join(dir, `p${n++}.db`), synchronous: 'NORMAL' }), ops),
      ),
      { numRuns: 40 },
    );
  }, 60_000);

  it('redis store (one server: the merge script)', async () => {
    const cleanups: Array<() => Promise<void>> = [];
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(opArbitrary, { maxLength: 30 }), (ops) =>
          check(async () => {
            const handle = await openRedisStore(limits);
            cleanups.push(handle.cleanup);
            return handle.store;
          }, ops),
        ),
        { numRuns: 30 },
      );
    } finally {
      for (const cleanup of cleanups) await cleanup();
    }
  }, 120_000);
});
