/**
 * json-rules-engine keeps a run's status on the Engine: when one run finishes
 * it marks the Engine FINISHED, and any other run still going on that Engine
 * skips its remaining (lower-priority) rule sets. The service answers many
 * decisions at once, so src/conditions/jre-matcher.ts gives each run an Engine of
 * its own from a pool. The first half shows the hazard is real on a raw shared
 * Engine; the second that the matcher is immune to it.
 */
import { Engine, type RuleProperties } from 'json-rules-engine';
import { describe, expect, it } from 'vitest';
import { DEFAULT_STAGES, type BooleanCondition } from '../../src/domain/rule-files.js';
import { createJreMatcher } from '../../src/conditions/jre-matcher.js';
import type { FactSource } from '../../src/conditions/fact-source.js';
import type { MatchableRule } from '../../src/conditions/matcher.js';

const CONCURRENT_RUNS = 200;

const count = (type: string): BooleanCondition => ({
  all: [{ fact: 'touchpointCount', params: { type }, operator: 'greaterThan', value: 0 }],
});

/** Rules in four priority sets; json-rules-engine runs the sets one after another, highest first. */
const RULES: MatchableRule[] = [
  { name: 'p40-a', priority: 40, conditions: count('a') },
  { name: 'p40-always', priority: 40, conditions: { all: [] } },
  { name: 'p30-b', priority: 30, conditions: count('b') },
  { name: 'p20-c', priority: 20, conditions: count('c') },
  { name: 'p20-recent', priority: 20, conditions: { all: [{ fact: 'daysSinceLastTouchpoint', operator: 'lessThan', value: 5 }] } },
  { name: 'p1-always', priority: 1, conditions: { all: [] } },
  { name: 'p1-a-and-c', priority: 1, conditions: { all: [count('a'), count('c')] } },
];

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Run i: which touchpoint types it has, and how long its facts take to resolve. */
function scenario(i: number) {
  const types = new Set<string>();
  if (i % 2 === 0) types.add('a');
  if (i % 3 === 0) types.add('b');
  if (i % 5 !== 0) types.add('c');
  const days = i % 10;
  const delayMs = (i * 7) % 11;
  const expected = new Set(
    [
      types.has('a') && 'p40-a',
      'p40-always',
      types.has('b') && 'p30-b',
      types.has('c') && 'p20-c',
      days < 5 && 'p20-recent',
      'p1-always',
      types.has('a') && types.has('c') && 'p1-a-and-c',
    ].filter((name): name is string => typeof name === 'string'),
  );
  return { types, days, delayMs, expected };
}

/** Facts whose parameterised values resolve asynchronously, like facts read from a slow source would. */
function asyncFacts(i: number): FactSource {
  const { types, days, delayMs } = scenario(i);
  const later = async <T>(value: T): Promise<T> => {
    await sleep(delayMs);
    return value;
  };
  return {
    customerId: `c-${i}`,
    attributes: {},
    context: {},
    touchpointTypes: [...types].sort(),
    channels: [],
    stage: undefined,
    stageIndex: undefined,
    // json-rules-engine awaits fact values, so a Promise is a valid dynamic fact value.
    touchpointCount: (params) => later(types.has(String(params.type)) ? 1 : 0) as unknown as number,
    daysSinceLastTouchpoint: () => later(days) as unknown as number,
    outcomeCount: () => 0,
    itemOutcomeCount: () => 0,
    bucket: () => 0,
  };
}

describe('a raw json-rules-engine Engine shared by concurrent runs (why the pool exists)', () => {
  function sharedEngine(): Engine {
    const engine = new Engine([], { allowUndefinedFacts: false });
    for (const rule of RULES) {
      engine.addRule({ name: rule.name, priority: rule.priority, conditions: rule.conditions, event: { type: 'match' } } as RuleProperties);
    }
    return engine;
  }

  function runtimeFactsOf(i: number): Record<string, unknown> {
    const facts = asyncFacts(i);
    return {
      touchpointCount: (params: { type: string }) => facts.touchpointCount(params),
      daysSinceLastTouchpoint: () => facts.daysSinceLastTouchpoint({}),
    };
  }

  it('gives every run its full result when runs take turns', async () => {
    const engine = sharedEngine();
    for (let i = 0; i < 20; i++) {
      const { results } = await engine.run(runtimeFactsOf(i));
      expect(new Set(results.map((r) => r.name))).toEqual(scenario(i).expected);
    }
  });

  it('loses lower-priority rules of a slow run when a fast run on the same Engine finishes first', async () => {
    const engine = sharedEngine();
    const slow = engine.run({
      touchpointCount: async () => {
        await sleep(30);
        return 1;
      },
      daysSinceLastTouchpoint: async () => {
        await sleep(30);
        return 0;
      },
    });
    const fast = engine.run({ touchpointCount: () => 1, daysSinceLastTouchpoint: () => 0 });
    const [slowResult, fastResult] = await Promise.all([slow, fast]);
    expect(fastResult.results.map((r) => r.name).sort()).toEqual(RULES.map((r) => r.name).sort());
    // The slow run finished its first priority set after the fast run had marked the Engine finished.
    const slowNames = slowResult.results.map((r) => r.name);
    expect(slowNames).not.toContain('p1-always');
    expect(slowNames.length).toBeLessThan(RULES.length);
  });

  it(`loses lower-priority rules in many of ${CONCURRENT_RUNS} concurrent runs`, async () => {
    const engine = sharedEngine();
    const results = await Promise.all(
      Array.from({ length: CONCURRENT_RUNS }, async (_, i) => {
        const { results: matched } = await engine.run(runtimeFactsOf(i));
        return { i, names: new Set(matched.map((r) => r.name)) };
      }),
    );
    const incomplete = results.filter(({ i, names }) => names.size < scenario(i).expected.size);
    expect(incomplete.length).toBeGreaterThan(CONCURRENT_RUNS / 2);
    // What goes missing is always a lower-priority rule: never more than was expected.
    for (const { i, names } of results) for (const name of names) expect(scenario(i).expected.has(name)).toBe(true);
  });
});

describe('createJreMatcher under concurrency', () => {
  const env = { segments: new Map<string, BooleanCondition>(), stageIndex: new Map<string, number>(DEFAULT_STAGES.map((s, i) => [s, i])) };

  it(`returns the full matched set for each of ${CONCURRENT_RUNS} concurrent match() calls on one matcher`, async () => {
    const matcher = createJreMatcher(RULES, env);
    const results = await Promise.all(Array.from({ length: CONCURRENT_RUNS }, (_, i) => matcher.match(asyncFacts(i))));
    results.forEach((matched, i) => {
      expect(new Set(matched), `run ${i}`).toEqual(scenario(i).expected);
    });
  });

  it('stays correct across waves of concurrent calls that reuse pooled engines', async () => {
    const matcher = createJreMatcher(RULES, env);
    for (let wave = 0; wave < 3; wave++) {
      const offset = wave * 1000;
      const results = await Promise.all(Array.from({ length: 100 }, (_, i) => matcher.match(asyncFacts(offset + i))));
      results.forEach((matched, i) => {
        expect(new Set(matched), `wave ${wave} run ${i}`).toEqual(scenario(offset + i).expected);
      });
    }
  });

  it('keeps each run’s facts to itself when a pooled engine is reused (no cached fact values leak)', async () => {
    const matcher = createJreMatcher(RULES, env);
    const withA = await matcher.match(asyncFacts(0));
    const withoutA = await matcher.match(asyncFacts(1));
    expect(withA.has('p40-a')).toBe(true);
    expect(withoutA.has('p40-a')).toBe(false);
  });

  it('matches nothing, without running an engine, when there are no rules', async () => {
    const matcher = createJreMatcher([], env);
    expect(await matcher.match(asyncFacts(0))).toEqual(new Set());
  });
});
