/**
 * json-rules-engine stays the reference semantics: property-based
 * differential tests hold the compiled evaluator (src/conditions/compiled-matcher.ts),
 * the tracing evaluator behind explain (src/conditions/trace.ts) and the
 * stage index (src/ruleset/stage-index.ts) to json-rules-engine's answers,
 * condition by condition, rule by rule and decision by decision.
 *
 * Mostly the engine runs with nextbest's path resolver and operators, which
 * tests the evaluation itself; one property runs it as shipped (jsonpath-plus
 * paths, its default operators), which tests that nextbest's paths and
 * operators read and compare as the engine's own.
 *
 * The generators (test/unit/differential/arbitraries.ts) cover every fact,
 * operator and decorator chain with edge values, and go beyond what the
 * validator accepts wherever json-rules-engine itself still answers. A failure
 * prints the seed and the shrunk counterexample; the example-based tests at the
 * end keep the sharpest edges found.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/decide/decide.js';
import type { DecisionRequest } from '../../src/domain/decision.js';
import { NO_OUTCOMES } from '../../src/domain/decision-profile.js';
import { fixedOutcomeTotals } from './fixed-outcome-totals.js';
import type { BooleanCondition, Condition, FactCondition } from '../../src/domain/rule-files.js';
import { createCompiledMatcher, createConditionCompiler } from '../../src/conditions/compiled-matcher.js';
import { traceCondition, type TraceEnvironment } from '../../src/conditions/trace.js';
import { createJreMatcher } from '../../src/conditions/jre-matcher.js';
import type { MatchableRule } from '../../src/conditions/matcher.js';
import { possibleStages } from '../../src/ruleset/stage-index.js';
import type { ConditionTrace } from '../../src/domain/trace.js';
import {
  contextArb,
  CUSTOMER_IDS,
  outcomesArb,
  type GeneratedOutcome,
  decisionProfileArb,
  factsInputArb,
  matcherWorldArb,
  NOW,
  paramsArb,
  rulesFolderArb,
  type FactsInput,
  type RulesFolder,
} from './differential/arbitraries.js';
import {
  asRules,
  buildOrThrow,
  conditionNodes,
  environment,
  factsOf,
  served,
  shippedVerdicts,
  sorted,
  stageIndexOf,
  withoutId,
} from './differential/harness.js';

const show = (value: unknown): string => JSON.stringify(value);
/** The stages of the example-based tests. */
const STAGES = ['lead', 'trial', 'paid'];

// Replays a reported failure: FC_SEED=<seed> FC_PATH=<path> npx vitest run test/unit/differential.test.ts -t '<test>'
if (process.env.FC_SEED) {
  fc.configureGlobal({ seed: Number(process.env.FC_SEED), ...(process.env.FC_PATH ? { path: process.env.FC_PATH } : {}) });
}

describe('compiled matcher = json-rules-engine (random rules, segments, facts)', () => {
  it('match() gives the same rules, and holds() agrees rule by rule', async () => {
    await fc.assert(
      fc.asyncProperty(matcherWorldArb(), async (world) => {
        const env = environment(world.stages, world.segments);
        const jre = createJreMatcher(world.rules, env);
        const compiled = createCompiledMatcher(world.rules, env);
        const shared = world.sharedFacts ? factsOf(world.facts, env.stageIndex) : null;
        const facts = () => shared ?? factsOf(world.facts, env.stageIndex);

        // Shared facts: the compiled matcher fills the memo first, the engine reads it.
        const compiledSet = await compiled.match(facts());
        const jreSet = new Set(await jre.match(facts()));
        expect(sorted(compiledSet)).toEqual(sorted(jreSet));
        for (const rule of world.rules) {
          expect(compiled.holds?.(rule.name, facts()), `holds(${rule.name}) ${show(rule.conditions)}`).toBe(jreSet.has(rule.name));
        }
        expect(compiled.holds?.('no-such-rule', facts())).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('tracer = compiled = json-rules-engine, for every sub-condition', () => {
  it('each node of each generated condition (and segment) gives one answer', async () => {
    await fc.assert(
      fc.asyncProperty(matcherWorldArb(3), async (world) => {
        const env = environment(world.stages, world.segments);
        // Every node of every rule and every segment, each as its own json-rules-engine rule.
        const nodes = [...world.rules.map((r) => r.conditions), ...world.segments.map((s) => s.condition)].flatMap((c) => conditionNodes(c));
        const rules = asRules(nodes);
        const names = new Map<Condition, string>(nodes.map((node, i) => [node, (rules[i] as MatchableRule).name]));
        const jreSet = await createJreMatcher(rules, env).match(factsOf(world.facts, env.stageIndex));
        const compiler = createConditionCompiler(env);
        const facts = factsOf(world.facts, env.stageIndex);

        const walk = (condition: Condition, trace: ConditionTrace): void => {
          const compiled = compiler.compile(condition)(facts);
          expect(trace.result, `tracer vs compiled on ${show(condition)}`).toBe(compiled);
          const name = names.get(condition);
          if (name !== undefined) expect(compiled, `compiled vs json-rules-engine on ${show(condition)}`).toBe(jreSet.has(name));
          if ('all' in condition && 'all' in trace) condition.all.forEach((c, i) => walk(c, trace.all[i] as ConditionTrace));
          else if ('any' in condition && 'any' in trace) condition.any.forEach((c, i) => walk(c, trace.any[i] as ConditionTrace));
          else if ('not' in condition && 'not' in trace) walk(condition.not, trace.not);
          else if ('condition' in condition && 'conditions' in trace) {
            walk(env.segments.get(condition.condition) as BooleanCondition, trace.conditions);
          }
        };
        for (const rule of world.rules) walk(rule.conditions, traceCondition(rule.conditions, facts, env));
        for (const segment of world.segments) walk(segment.condition, traceCondition(segment.condition, facts, env));
      }),
      { numRuns: 600 },
    );
  });
});

describe('nextbest = json-rules-engine as shipped (jsonpath-plus paths, default operators), for every sub-condition', () => {
  // The reference here is json-rules-engine with nothing of nextbest's but the two stage operators
  // (test/unit/differential/harness.ts buildShippedEngine). The rules keep to the paths nextbest
  // accepts, where jsonpath-plus does plain property access too.
  //
  // Excluded, not compared: a sub-condition on which the shipped engine THROWS. nextbest's operators
  // answer false there on purpose (src/conditions/operators.ts: a throw would fail the whole
  // decision), and a throw cannot be compared as false: it fails every condition above it too,
  // `not` included. Every sub-condition is its own rule, so only the ones that throw are left out.
  it('the compiled evaluator, the tracer and the json-rules-engine matcher answer as the shipped engine does', async () => {
    let compared = 0;
    let excluded = 0;
    await fc.assert(
      fc.asyncProperty(matcherWorldArb(3, 'plain'), async (world) => {
        const env = environment(world.stages, world.segments);
        const nodes = [...world.rules.map((r) => r.conditions), ...world.segments.map((s) => s.condition)].flatMap((c) => conditionNodes(c));
        const rules = asRules(nodes);
        const facts = () => factsOf(world.facts, env.stageIndex);
        const shipped = await shippedVerdicts(rules, env, facts);
        const jreSet = await createJreMatcher(rules, env).match(facts());
        const compiler = createConditionCompiler(env);
        const shared = facts();
        nodes.forEach((node, i) => {
          const name = (rules[i] as MatchableRule).name;
          const reference = shipped.get(name);
          if (reference === 'throws') {
            excluded++;
            return;
          }
          compared++;
          const root = (rules[i] as MatchableRule).conditions;
          expect(compiler.compile(root)(shared), `compiled vs shipped json-rules-engine on ${show(node)}`).toBe(reference);
          expect(traceCondition(root, facts(), env).result, `tracer vs shipped json-rules-engine on ${show(node)}`).toBe(reference);
          expect(jreSet.has(name), `json-rules-engine matcher vs shipped json-rules-engine on ${show(node)}`).toBe(reference);
        });
      }),
      { numRuns: 600 },
    );
    // The exclusion must not hollow the comparison out.
    expect(compared).toBeGreaterThan(2 * excluded);
  });
});

interface DecisionCase {
  profile: FactsInput['profile'];
  request: DecisionRequest;
  /** Everyone's outcomes, for caps with scope "all". */
  everyone: GeneratedOutcome[];
}

function decisionCaseArb(folder: RulesFolder): fc.Arbitrary<DecisionCase> {
  return fc.constantFrom(...CUSTOMER_IDS).chain((customerId) =>
    fc.record({
      profile: fc.oneof({ arbitrary: decisionProfileArb(folder.stages, customerId), weight: 6 }, fc.constant(null)),
      request: fc.record({
        customerId: fc.constant(customerId),
        placements: fc.shuffledSubarray(folder.placements, { minLength: 1 }),
        context: fc.oneof(contextArb(folder.stages), contextArb(folder.stages, 'never')),
        explain: fc.constant(false),
      }),
      everyone: outcomesArb(),
    }),
  );
}

describe('whole decisions: compiled snapshot = json-rules-engine snapshot = explained', () => {
  it('serves the same stage, items, rule attribution and fallback', async () => {
    await fc.assert(
      fc.asyncProperty(
        rulesFolderArb().chain((folder) =>
          fc.record({ folder: fc.constant(folder), cases: fc.array(decisionCaseArb(folder), { minLength: 1, maxLength: 4 }) }),
        ),
        async ({ folder, cases }) => {
          const compiled = buildOrThrow(folder.files, createCompiledMatcher);
          const jre = buildOrThrow(folder.files, createJreMatcher);
          for (const { profile, request, everyone } of cases) {
            const outcomeTotals = fixedOutcomeTotals(everyone);
            const fast = await decide(compiled, profile, request, { now: NOW, decisionId: 'compiled', outcomeTotals });
            const reference = await decide(jre, profile, request, { now: NOW, decisionId: 'jre', outcomeTotals });
            expect(withoutId(fast)).toEqual(withoutId(reference));
            const explained = await decide(compiled, profile, { ...request, explain: true }, { now: NOW, decisionId: 'explained', outcomeTotals });
            expect(served(explained)).toEqual(served(reference));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('the stage index never drops a rule that can match', () => {
  it('a rule left out of rulesByStage(s) does not hold on json-rules-engine in stage s', async () => {
    await fc.assert(
      fc.asyncProperty(
        rulesFolderArb().chain((folder) =>
          fc.record({ folder: fc.constant(folder), inputs: fc.array(factsInputArb(folder.stages, false, true), { minLength: 1, maxLength: 3 }) }),
        ),
        async ({ folder, inputs }) => {
          const snapshot = buildOrThrow(folder.files, createCompiledMatcher);
          for (const placement of snapshot.placements.values()) {
            const enabled = placement.rules.filter((r) => r.enabled);
            const jre = createJreMatcher(enabled, snapshot.evaluation);
            for (const stage of snapshot.stages) {
              const kept = placement.rulesByStage.get(stage) ?? [];
              // The same rules in the same (priority) order, some left out.
              expect(enabled.filter((r) => kept.includes(r))).toEqual(kept);
              const dropped = enabled.filter((r) => !kept.includes(r));
              if (dropped.length === 0) continue;
              for (const input of inputs) {
                const matched = await jre.match(factsOf({ ...input, stage }, snapshot.stageIndex));
                for (const rule of dropped) {
                  expect(matched.has(rule.name), `${placement.name}/${rule.name} dropped from "${stage}" but holds: ${show(rule.conditions)}`).toBe(false);
                }
              }
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('fact values do not depend on the order they are asked in (the facts memo)', () => {
  // The evaluators ask for parameterised facts in different orders; the memo must not make that matter.
  it('asking with other params first never changes an answer', () => {
    const query = fc.oneof(
      ...(['touchpointCount', 'daysSinceLastTouchpoint', 'outcomeCount', 'bucket'] as const).map((name) =>
        fc.record({ name: fc.constant(name), params: paramsArb(name, false).map((p) => p ?? {}) }),
      ),
    );
    fc.assert(
      fc.property(factsInputArb(STAGES, false, false), fc.array(query, { minLength: 2, maxLength: 6 }), (input, queries) => {
        const facts = factsOf(input, stageIndexOf(STAGES));
        const ask = (f: typeof facts, q: (typeof queries)[number]): unknown =>
          q.name === 'bucket' ? f.bucket(q.params as { salt: string }) : f[q.name](q.params);
        for (const q of queries) expect(ask(facts, q), show(q)).toBe(ask(factsOf(input, stageIndexOf(STAGES)), q));
      }),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------- regression examples


/** One condition on all three evaluators, with the stage set to `trial` unless told otherwise. */
async function evaluateEverywhere(
  condition: BooleanCondition,
  input: Partial<FactsInput> = {},
  segments: { name: string; condition: BooleanCondition }[] = [],
): Promise<{ jre: boolean; compiled: boolean; tracer: boolean }> {
  const env: TraceEnvironment = environment(STAGES, segments.map((s) => ({ ...s, stageFree: true })));
  const facts: FactsInput = {
    customerId: 'c1',
    profile: null,
    context: { channel: 'web', tier: 'gold' },
    stage: 'trial',
    ...input,
  };
  const rules = [{ name: 'r', priority: 1, conditions: condition }];
  const jre = (await createJreMatcher(rules, env).match(factsOf(facts, env.stageIndex))).has('r');
  const compiled = createCompiledMatcher(rules, env).holds?.('r', factsOf(facts, env.stageIndex)) ?? false;
  const tracer = traceCondition(condition, factsOf(facts, env.stageIndex), env).result;
  return { jre, compiled, tracer };
}

const everywhere = (result: boolean) => ({ jre: result, compiled: result, tracer: result });
const all = (...conditions: Condition[]): BooleanCondition => ({ all: conditions });
const fact = (condition: FactCondition): FactCondition => condition;

describe('sharp edges, each checked on json-rules-engine, compiled and tracer', () => {
  it('a customer attribute with a "toString" key of its own compares as false instead of failing the decision', async () => {
    const attributes = { score: { toString: 1 }, name: { valueOf: 'x', toString: 'y' } };
    const profile = { customerId: 'c1', attributes, stage: null, types: [], channels: [], at: new Float64Array(0), outcomes: NO_OUTCOMES };
    for (const operator of ['lessThan', 'greaterThanInclusive', 'in', 'swap:in', 'stageAtLeast']) {
      const value = operator === 'in' ? 'abc' : operator === 'swap:in' ? 'x' : operator === 'stageAtLeast' ? 'trial' : 5;
      const condition = all(fact({ fact: 'attributes', path: '$.score', operator, value }));
      expect(await evaluateEverywhere(condition, { profile }), operator).toEqual(everywhere(false));
    }
  });

  it('`all: []` holds, and so does `any: []` (json-rules-engine: no conditions, true)', async () => {
    expect(await evaluateEverywhere({ all: [] })).toEqual(everywhere(true));
    expect(await evaluateEverywhere({ any: [] })).toEqual(everywhere(true));
    expect(await evaluateEverywhere({ not: { any: [] } })).toEqual(everywhere(false));
  });

  it('a path on a scalar fact reads the fact itself', async () => {
    expect(await evaluateEverywhere(all(fact({ fact: 'customerId', path: '$.x', operator: 'equal', value: 'c1' })))).toEqual(everywhere(true));
    expect(await evaluateEverywhere(all(fact({ fact: 'stageIndex', path: '$[0]', operator: 'equal', value: 1 })))).toEqual(everywhere(true));
  });

  it('the empty path is no path at all', async () => {
    expect(await evaluateEverywhere(all(fact({ fact: 'context', path: '', operator: 'equal', value: 'web' })))).toEqual(everywhere(false));
    expect(await evaluateEverywhere(all(fact({ fact: 'customerId', path: '', operator: 'equal', value: 'c1' })))).toEqual(everywhere(true));
  });

  it('`someValue:` / `everyValue:` on a non-array value are false (not: true)', async () => {
    expect(await evaluateEverywhere(all(fact({ fact: 'customerId', operator: 'someValue:equal', value: 'c1' })))).toEqual(everywhere(false));
    expect(await evaluateEverywhere(all(fact({ fact: 'customerId', operator: 'everyValue:equal', value: 'c1' })))).toEqual(everywhere(false));
    expect(await evaluateEverywhere(all(fact({ fact: 'customerId', operator: 'not:someValue:equal', value: 'c1' })))).toEqual(everywhere(true));
    // An empty list: some is false, every is true.
    expect(await evaluateEverywhere(all(fact({ fact: 'customerId', operator: 'everyValue:equal', value: [] })))).toEqual(everywhere(true));
  });

  it('`someFact:` / `everyFact:` need an array fact: false on a scalar, so `not:` of it is true', async () => {
    expect(await evaluateEverywhere(all(fact({ fact: 'customerId', operator: 'someFact:equal', value: 'c1' })))).toEqual(everywhere(false));
    expect(await evaluateEverywhere(all(fact({ fact: 'customerId', operator: 'not:someFact:equal', value: 'c1' })))).toEqual(everywhere(true));
    expect(await evaluateEverywhere(all(fact({ fact: 'touchpointTypes', operator: 'everyFact:equal', value: 'x' })))).toEqual(everywhere(true));
  });

  it('`swap:in` with a missing fact: the list becomes the fact, the missing value is searched in it', async () => {
    const missing = { fact: 'attributes', path: '$.missing' } as const;
    expect(await evaluateEverywhere(all(fact({ ...missing, operator: 'swap:in', value: ['a'] })))).toEqual(everywhere(false));
    expect(await evaluateEverywhere(all(fact({ ...missing, operator: 'swap:contains', value: ['a'] })))).toEqual(everywhere(false));
    // `notIn` needs something to search as much as `in` does: false, not true.
    expect(await evaluateEverywhere(all(fact({ ...missing, operator: 'swap:notIn', value: ['a'] })))).toEqual(everywhere(false));
    // `in` on a string value searches the string (String.prototype.indexOf coerces the fact).
    expect(await evaluateEverywhere(all(fact({ fact: 'stageIndex', operator: 'in', value: '0123' })))).toEqual(everywhere(true));
  });

  it('a fact reference that resolves to undefined equals another undefined', async () => {
    const condition = all(fact({ fact: 'attributes', path: '$.nope', operator: 'equal', value: { fact: 'context', path: '$.missing' } }));
    expect(await evaluateEverywhere(condition)).toEqual(everywhere(true));
    const stageRef = all(fact({ fact: 'stage', operator: 'stageAtLeast', value: { fact: 'context', path: '$.missing' } }));
    expect(await evaluateEverywhere(stageRef)).toEqual(everywhere(false));
  });

  it('`stageAtLeast` / `stageAtMost` with an unknown stage (either side) are false', async () => {
    expect(await evaluateEverywhere(all(fact({ fact: 'stage', operator: 'stageAtLeast', value: 'nowhere' })))).toEqual(everywhere(false));
    expect(await evaluateEverywhere(all(fact({ fact: 'stage', operator: 'stageAtMost', value: 'nowhere' })))).toEqual(everywhere(false));
    expect(await evaluateEverywhere(all(fact({ fact: 'stage', operator: 'not:stageAtLeast', value: 'nowhere' })))).toEqual(everywhere(true));
    expect(await evaluateEverywhere(all(fact({ fact: 'stage', operator: 'stageAtLeast', value: 'lead' })), { stage: 'nowhere' })).toEqual(
      everywhere(false),
    );
  });

  it('segments are evaluated where referenced, including through other segments', async () => {
    const segments = [
      { name: 'gold', condition: all(fact({ fact: 'context', path: '$.tier', operator: 'equal', value: 'gold' })) },
      { name: 'notGold', condition: { not: { condition: 'gold' } } },
    ];
    expect(await evaluateEverywhere({ condition: 'notGold' }, {}, segments)).toEqual(everywhere(false));
    expect(await evaluateEverywhere({ any: [{ condition: 'notGold' }, { not: { condition: 'notGold' } }] }, {}, segments)).toEqual(everywhere(true));
  });
});

describe('paths read into strings and arrays as json-rules-engine as shipped reads them (jsonpath-plus)', () => {
  const attributes = { name: 'abc', empty: '', list: ['xy', 3], n: 5, nothing: null, o: { b: 'q' } };
  const profile = { customerId: 'c1', attributes, stage: null, types: [], channels: [], at: new Float64Array(0), outcomes: NO_OUTCOMES };
  /** The condition on the shipped engine and on nextbest's three evaluators. */
  const check = async (path: string, operator: string, value: unknown): Promise<unknown> => {
    const condition = all(fact({ fact: 'attributes', path, operator, value }));
    const env = environment(STAGES, []);
    const rules = [{ name: 'r', priority: 1, conditions: condition }];
    const input: FactsInput = { customerId: 'c1', profile, context: {}, stage: 'trial' };
    const shipped = (await shippedVerdicts(rules, env, () => factsOf(input, env.stageIndex))).get('r');
    return { shipped, ...(await evaluateEverywhere(condition, { profile })) };
  };
  const agreed = (result: boolean) => ({ shipped: result, ...everywhere(result) });

  it.each([
    ['$.name[0]', 'equal', 'a'],
    ['$.name[2]', 'equal', 'c'],
    ['$.name.0', 'equal', 'a'],
    ['$.name["1"]', 'equal', 'b'],
    ['$.name.length', 'equal', 3],
    ["$.name['length']", 'greaterThan', 2],
    ['$.list.length', 'equal', 2],
    ['$.list[0].length', 'equal', 2],
    ['$.list[0][1]', 'equal', 'y'],
    ['$.o.b.length', 'equal', 1],
  ])('%s %s %j holds', async (path, operator, value) => {
    expect(await check(path, operator, value)).toEqual(agreed(true));
  });

  it.each([
    // Past the end of a string.
    ['$.name[3]', 'notEqual', undefined],
    // The empty string has neither characters nor a length in jsonpath-plus (it stops at a falsy value).
    ['$.empty.length', 'notEqual', undefined],
    ['$.empty[0]', 'notEqual', undefined],
    // Numbers, null and objects have no length; a character has no properties but its own length.
    ['$.n.length', 'notEqual', undefined],
    ['$.nothing.length', 'notEqual', undefined],
    ['$.o.length', 'notEqual', undefined],
    ['$.name.length.x', 'notEqual', undefined],
    // Inherited members are never read.
    ['$.name.toString', 'notEqual', undefined],
    ['$.name.charAt', 'notEqual', undefined],
    ['$.list.map', 'notEqual', undefined],
  ])('%s reads as missing', async (path, operator, value) => {
    expect(await check(path, operator, value)).toEqual(agreed(false));
  });
});

describe('compiled segments keep their result for one decision only', () => {
  // src/conditions/compiled-matcher.ts keeps a segment's result while the same facts object (with the
  // same stage) asks again; these would fail if a result leaked to another decision or across the
  // stage being set after stage inference.
  const segments = [
    { name: 'gold', condition: all(fact({ fact: 'context', path: '$.tier', operator: 'equal', value: 'gold' })), stageFree: true },
    { name: 'late', condition: all(fact({ fact: 'stage', operator: 'stageAtLeast', value: 'paid' })), stageFree: false },
  ];
  const env = environment(STAGES, segments);
  const matcher = createCompiledMatcher(
    [
      { name: 'gold-rule', priority: 1, conditions: { condition: 'gold' } },
      { name: 'late-rule', priority: 1, conditions: { condition: 'late' } },
    ],
    env,
  );
  const holds = (rule: string, facts: ReturnType<typeof factsOf>) => matcher.holds?.(rule, facts);
  const input = (tier: string): FactsInput => ({ customerId: 'c1', profile: null, context: { tier }, stage: undefined });

  it('answers each facts object by its own values, in any order of asking', () => {
    const gold = factsOf(input('gold'), env.stageIndex);
    const silver = factsOf(input('silver'), env.stageIndex);
    expect([holds('gold-rule', gold), holds('gold-rule', silver), holds('gold-rule', gold), holds('gold-rule', silver)]).toEqual([true, false, true, false]);
  });

  it('evaluates again once the stage is set on the same facts', () => {
    const facts = factsOf(input('gold'), env.stageIndex);
    expect(holds('late-rule', facts)).toBe(false);
    facts.stage = 'paid';
    facts.stageIndex = env.stageIndex.get('paid');
    expect(holds('late-rule', facts)).toBe(true);
  });
});

// ---------------------------------------------------------------- disagreements found (failing until src is fixed)

describe('disagreements found by the properties above', () => {
  it('an unparseable path on a scalar fact still reads the fact itself (src/conditions/compiled-matcher.ts factGetter)', async () => {
    // json-rules-engine applies `path` only to object values, so the resolver never sees it; the compiled
    // matcher gives up at compile time and reads undefined. (The validator rejects both conditions.)
    expect(await evaluateEverywhere(all(fact({ fact: 'customerId', path: 'x', operator: 'equal', value: 'c1' })))).toEqual(everywhere(true));
    expect(await evaluateEverywhere(all(fact({ fact: 'customerId', operator: 'equal', value: { fact: 'customerId', path: '$.' } })))).toEqual(
      everywhere(true),
    );
  });

  it('the stage index keeps rules that compare the stage with a fact reference (src/ruleset/stage-index.ts)', async () => {
    // Valid rules: `stage equal { fact: stage }` always holds, `stageAtLeast { fact: context.from }` holds
    // from that stage on; possibleStages reads the reference object as a stage name and drops both everywhere.
    const pins: Condition[] = [
      fact({ fact: 'stage', operator: 'equal', value: { fact: 'stage' } }),
      fact({ fact: 'stage', operator: 'stageAtLeast', value: { fact: 'context', path: '$.from' } }),
      fact({ fact: 'stage', operator: 'stageAtMost', value: { fact: 'stage' } }),
    ];
    for (const pin of pins) {
      expect(await evaluateEverywhere(all(pin), { context: { from: 'lead' } })).toEqual(everywhere(true));
      const allowed = possibleStages(all(pin), new Map(), STAGES);
      expect(allowed === null || STAGES.every((stage) => allowed.has(stage)), show(pin)).toBe(true);
    }

    const files = [
      { file: 'journey.json', text: JSON.stringify({ stages: STAGES }) },
      { file: 'catalog.json', text: JSON.stringify({ items: [{ id: 'hero', kind: 'content' }, { id: 'default', kind: 'content' }] }) },
      {
        file: 'placements/home.json',
        text: JSON.stringify({
          placement: 'home',
          fallback: ['default'],
          rules: [{ name: 'same-stage', conditions: all(pins[0] as Condition), event: { type: 'serve', params: { items: ['hero'] } } }],
        }),
      },
    ];
    const request: DecisionRequest = { customerId: 'c1', placements: ['home'], context: {}, explain: false };
    for (const createMatcher of [createCompiledMatcher, createJreMatcher]) {
      const snapshot = buildOrThrow(files, createMatcher);
      const decision = await decide(snapshot, null, request, { now: NOW, decisionId: 'd' });
      const explained = await decide(snapshot, null, { ...request, explain: true }, { now: NOW, decisionId: 'd' });
      expect(explained.placements.home?.items.map((i) => i.id)).toEqual(['hero']);
      expect(decision.placements.home?.items.map((i) => i.id)).toEqual(['hero']);
    }
  });

  it("a fact's value does not depend on which params were asked before (src/conditions/decision-facts.ts memo keys)", async () => {
    // The memo's content key joins list elements with "," and writes a missing and a null withinDays
    // alike, so invalid params share a key with valid ones and whichever is asked first answers for
    // both. The evaluators ask in different orders (the compiled one short-circuits, json-rules-engine
    // evaluates every condition of a set), so they disagree:
    const input: FactsInput = {
      customerId: 'c1',
      profile: { customerId: 'c1', attributes: {}, stage: null, types: ['page_view'], channels: ['web'], at: Float64Array.from([NOW - 86_400_000]), outcomes: NO_OUTCOMES },
      context: {},
      stage: 'trial',
    };
    for (const [invalid, valid] of [
      [{ withinDays: null }, {}],
      [{ type: 'page_view,signup' }, { type: ['page_view', 'signup'] }],
    ] as const) {
      const rules = [
        // The compiled matcher stops at the first condition; json-rules-engine reads the second too.
        { name: 'first', priority: 1, conditions: all(fact({ fact: 'customerId', operator: 'equal', value: 'nobody' }), fact({ fact: 'touchpointCount', params: invalid, operator: 'equal', value: 0 })) },
        { name: 'second', priority: 1, conditions: all(fact({ fact: 'customerId', operator: 'equal', value: 'c1' }), fact({ fact: 'touchpointCount', params: valid, operator: 'equal', value: 1 })) },
      ];
      const env = environment(STAGES, []);
      const jre = await createJreMatcher(rules, env).match(factsOf(input, env.stageIndex));
      const compiled = await createCompiledMatcher(rules, env).match(factsOf(input, env.stageIndex));
      expect(sorted(jre), show(invalid)).toEqual(['second']);
      expect(sorted(compiled), show(invalid)).toEqual(['second']);
    }
  });
});
