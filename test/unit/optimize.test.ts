/**
 * Optimized ranking (contract section 10) in decide(): the arm, Thompson
 * sampling on the goal statistics it is given, eligibility unchanged, and
 * explain's scores. Chance is a seeded source; no test depends on timing.
 */
import { describe, expect, it } from 'vitest';
import { decide, type DecideOptions } from '../../src/decide/decide.js';
import { seededRandom } from '../../src/decide/sampling.js';
import type { DecisionRequest } from '../../src/domain/decision.js';
import type { GoalCounts } from '../../src/domain/report.js';
import { buildRuleset } from '../../src/ruleset/build.js';
import type { RulesetSnapshot } from '../../src/ruleset/snapshot.js';

const NOW = Date.parse('2026-06-01T12:00:00Z');

const serve = (name: string, items: string[], priority = 1) => ({ name, priority, conditions: { all: [] }, event: { type: 'serve', params: { items } } });

function rules(optimize: unknown, extra: Record<string, unknown> = {}): RulesetSnapshot {
  const files = {
    'catalog.json': {
      items: [
        { id: 'a', kind: 'offer' },
        { id: 'b', kind: 'offer' },
        { id: 'c', kind: 'offer' },
        { id: 'email-only', kind: 'offer', channels: ['email'] },
        { id: 'fb', kind: 'content' },
      ],
    },
    'placements/hero.json': {
      placement: 'hero',
      maxItems: 1,
      fallback: ['fb'],
      rules: [serve('first', ['a', 'email-only'], 3), serve('second', ['b', 'a'], 2), serve('third', ['c'], 1)],
      ...(optimize === undefined ? {} : { optimize }),
      ...extra,
    },
    'placements/plain.json': { placement: 'plain', rules: [serve('only', ['a'])] },
  };
  const built = buildRuleset(
    Object.entries(files).map(([file, content]) => ({ file, text: JSON.stringify(content) })),
    { now: NOW },
  );
  if (!built.snapshot) throw new Error(JSON.stringify(built.errors));
  return built.snapshot;
}

const request = (placements: string[], extra: Partial<DecisionRequest> = {}): DecisionRequest => ({
  customerId: 'c-1',
  placements,
  context: { channel: 'web' },
  explain: false,
  ...extra,
});

/** c converts at 20%, a and b at 1%, over plenty of impressions. */
const STATS = new Map<string, GoalCounts>([
  ['a', { goals: 10, impressions: 1000 }],
  ['b', { goals: 10, impressions: 1000 }],
  ['c', { goals: 200, impressions: 1000 }],
  ['email-only', { goals: 900, impressions: 1000 }],
]);

function options(random: () => number, stats: ReadonlyMap<string, GoalCounts> | undefined = STATS): DecideOptions {
  return { now: NOW, decisionId: 'd', random, goalStats: (placement) => (placement === 'hero' ? stats : undefined) };
}

async function tally(snapshot: RulesetSnapshot, runs: number, seed: number, stats?: ReadonlyMap<string, GoalCounts>) {
  const random = seededRandom(seed);
  const arms = { optimized: 0, priority: 0 };
  const served = new Map<string, number>();
  for (let i = 0; i < runs; i++) {
    const decision = await decide(snapshot, null, request(['hero']), options(random, stats));
    const hero = decision.placements.hero!;
    arms[hero.ranking!] += 1;
    const key = `${hero.items[0]?.id}/${hero.items[0]?.rule}/${hero.ranking}`;
    served.set(key, (served.get(key) ?? 0) + 1);
  }
  return { arms, served };
}

describe('optimized ranking', () => {
  it('serves the item with the best goal rate in optimized decisions, still naming the rule that made it eligible', async () => {
    const { arms, served } = await tally(rules({ goal: 'conversion' }), 2000, 1);
    // explore defaults to 0.1: about a tenth of decisions keep priority order (a, from rule "first").
    expect(arms.priority / 2000).toBeGreaterThan(0.07);
    expect(arms.priority / 2000).toBeLessThan(0.13);
    expect(served.get('a/first/priority')).toBe(arms.priority);
    expect((served.get('c/third/optimized') ?? 0) / arms.optimized).toBeGreaterThan(0.99);
    // Never an item the request's channel rules out, however good its rate.
    expect([...served.keys()].some((key) => key.startsWith('email-only'))).toBe(false);
  });

  it('keeps priority order in a share explore of decisions: none at 0, about half at 0.5', async () => {
    expect((await tally(rules({ goal: 'click', explore: 0 }), 500, 2)).arms.priority).toBe(0);
    const half = (await tally(rules({ goal: 'click', explore: 0.5 }), 2000, 3)).arms;
    expect(Math.abs(half.priority - 1000)).toBeLessThan(120);
  });

  it('tries every eligible item while nothing is known, each about as often', async () => {
    const { served } = await tally(rules({ goal: 'click', explore: 0 }), 3000, 4, new Map());
    // a is offered by two rules but served once, by the first that offers it.
    expect([...served.keys()].sort()).toEqual(['a/first/optimized', 'b/second/optimized', 'c/third/optimized']);
    for (const count of served.values()) expect(Math.abs(count - 1000)).toBeLessThan(150);
  });

  it('gives the same decision for the same seed', async () => {
    const snapshot = rules({ goal: 'click' });
    const run = async () => {
      const random = seededRandom(77);
      const out: string[] = [];
      for (let i = 0; i < 50; i++) out.push((await decide(snapshot, null, request(['hero']), options(random, new Map()))).placements.hero!.items[0]!.id);
      return out;
    };
    expect(await run()).toEqual(await run());
  });

  it('fills maxItems with the highest sampled items', async () => {
    const snapshot = rules({ goal: 'conversion', explore: 0 }, { maxItems: 2 });
    const decision = await decide(snapshot, null, request(['hero']), options(seededRandom(5)));
    expect(decision.placements.hero!.items.map((i) => [i.id, i.rule])).toEqual([
      ['c', 'third'],
      expect.arrayContaining([expect.stringMatching(/^[ab]$/)]),
    ]);
    expect(decision.placements.hero!.items).toHaveLength(2);
  });

  it('says priority for a fallback, and nothing for a placement without optimize', async () => {
    const snapshot = rules({ goal: 'click', explore: 0 }, { rules: [serve('none', ['email-only'])] });
    const decision = await decide(snapshot, null, request(['hero', 'plain']), options(seededRandom(6)));
    expect(decision.placements.hero).toEqual({ items: [expect.objectContaining({ id: 'fb', rule: null })], fallback: true, ranking: 'priority' });
    expect(decision.placements.plain).toEqual({ items: [expect.objectContaining({ id: 'a' })], fallback: false });
  });

  it('keeps priority order, and says so, when decide is given no random source (rule tests)', async () => {
    const decision = await decide(rules({ goal: 'click', explore: 0 }), null, request(['hero']), { now: NOW, decisionId: 'd', goalStats: () => STATS });
    expect(decision.placements.hero).toMatchObject({ items: [{ id: 'a', rule: 'first' }], fallback: false, ranking: 'priority' });
  });

  it("explains each eligible item's sampled score; eligible items past maxItems are over-max-items", async () => {
    const snapshot = rules({ goal: 'conversion', explore: 0 });
    const decision = await decide(snapshot, null, request(['hero'], { explain: true }), options(seededRandom(8)));
    const hero = decision.placements.hero!;
    expect(hero.ranking).toBe('optimized');
    expect(hero.items.map((i) => i.id)).toEqual(['c']);
    const traced = hero.trace!.flatMap((rule) => (rule.items ?? []).map((item) => ({ rule: rule.name, ...item })));
    expect(traced.map(({ rule, id, outcome }) => [rule, id, outcome])).toEqual([
      ['first', 'a', 'over-max-items'],
      ['first', 'email-only', 'channel'],
      ['second', 'b', 'over-max-items'],
      ['second', 'a', 'duplicate'],
      ['third', 'c', 'served'],
    ]);
    const scores = traced.filter((t) => t.score !== undefined);
    expect(scores.map((t) => t.id)).toEqual(['a', 'b', 'c']);
    const best = scores.find((t) => t.id === 'c')!.score!;
    for (const t of scores) expect(t.score!).toBeLessThanOrEqual(best);
  });

  it('explains the control arm in priority order, without scores', async () => {
    const snapshot = rules({ goal: 'conversion', explore: 0.5 });
    const random = seededRandom(10);
    for (let i = 0; i < 20; i++) {
      const hero = (await decide(snapshot, null, request(['hero'], { explain: true }), options(random))).placements.hero!;
      if (hero.ranking !== 'priority') continue;
      expect(hero.items.map((item) => item.id)).toEqual(['a']);
      expect(hero.trace!.flatMap((rule) => rule.items ?? []).some((item) => item.score !== undefined)).toBe(false);
      return;
    }
    throw new Error('no decision took the control arm in 20 tries at explore 0.5');
  });
});
