/**
 * The operators and decorators of src/conditions/operators.ts must give
 * json-rules-engine's own results on well-typed input (the contract promises
 * its operators), and false rather than a throw where the engine's defaults
 * would throw. The reference is a fresh json-rules-engine Engine with its
 * default operators only.
 */
import fc from 'fast-check';
import { Engine } from 'json-rules-engine';
import { describe, expect, it } from 'vitest';
import { DEFAULT_STAGES } from '../../src/domain/rule-files.js';
import { buildEngine } from '../../src/conditions/jre-matcher.js';
import {
  BASE_OPERATOR_NAMES,
  createOperators,
  DECORATOR_NAMES,
  DECORATORS,
  parseOperator,
  type OperatorFn,
} from '../../src/conditions/operators.js';

const STAGE_INDEX = new Map<string, number>(DEFAULT_STAGES.map((stage, i) => [stage, i]));
const OPERATORS = createOperators(STAGE_INDEX);

/** Our definitions composed the way json-rules-engine composes decorators (validator first, outermost decorator first). */
function ours(operator: string, factValue: unknown, jsonValue: unknown): boolean {
  const parsed = parseOperator(operator);
  if (!parsed.ok) throw new Error(parsed.message);
  const base = OPERATORS.find((o) => o.name === parsed.base);
  if (!base) throw new Error(`no definition for ${parsed.base}`);
  let evaluate: OperatorFn = (a, b) => base.validator(a) && base.evaluate(a, b);
  for (const name of [...parsed.decorators].reverse()) {
    const decorator = DECORATORS.find((d) => d.name === name);
    if (!decorator) throw new Error(`no definition for ${name}`);
    const next = evaluate;
    evaluate = (a, b) => decorator.validator(a) && decorator.evaluate(a, b, next);
  }
  return evaluate(factValue, jsonValue);
}

function rule(operator: string, jsonValue: unknown) {
  return { name: 'probe', priority: 1, conditions: { all: [{ fact: 'x', operator, value: jsonValue }] } };
}

/** json-rules-engine with its default operators: the reference. Rejects where the defaults throw. */
async function reference(operator: string, factValue: unknown, jsonValue: unknown): Promise<boolean> {
  const engine = new Engine([{ ...rule(operator, jsonValue), event: { type: 'hit' } }], { allowUndefinedFacts: true });
  const { events } = await engine.run({ x: factValue });
  return events.length > 0;
}

/** json-rules-engine with our operators registered, as src/conditions/jre-matcher.ts builds it. */
async function throughOurEngine(operator: string, factValue: unknown, jsonValue: unknown): Promise<boolean> {
  const engine = buildEngine([rule(operator, jsonValue) as never], { segments: new Map(), stageIndex: STAGE_INDEX });
  const { results } = await engine.run({ x: factValue });
  return results.length > 0;
}

type Row = readonly [operator: string, factValue: unknown, jsonValue: unknown];

/** Well-typed input: the defaults do not throw on any of these. */
const WELL_TYPED: Row[] = [
  ['equal', 'gold', 'gold'],
  ['equal', 'gold', 'silver'],
  ['equal', 34, 34],
  ['equal', 34, '34'],
  ['equal', null, null],
  ['equal', undefined, null],
  ['equal', true, true],
  ['notEqual', 'gold', 'silver'],
  ['notEqual', 'gold', 'gold'],
  ['notEqual', undefined, 'x'],
  ['in', 'gold', ['gold', 'platinum']],
  ['in', 'bronze', ['gold', 'platinum']],
  ['in', 34, ['34']],
  ['in', undefined, ['x']],
  ['in', 'old', 'gold'],
  ['in', 'a', []],
  ['notIn', 'gold', ['silver']],
  ['notIn', 'gold', ['gold']],
  ['notIn', undefined, ['gold']],
  ['contains', ['hiking', 'camping'], 'camping'],
  ['contains', ['hiking'], 'skiing'],
  ['contains', 'hiking', 'hik'],
  ['contains', undefined, 'x'],
  ['contains', [], 'x'],
  ['doesNotContain', ['hiking'], 'skiing'],
  ['doesNotContain', ['hiking'], 'hiking'],
  ['doesNotContain', 'hiking', 'x'],
  ['doesNotContain', undefined, 'x'],
  ['lessThan', 1, 2],
  ['lessThan', 2, 2],
  ['lessThan', '5', 10],
  ['lessThan', -1.5, -1],
  ['lessThan', 'abc', 10],
  ['lessThan', null, 10],
  ['lessThan', undefined, 10],
  ['lessThanInclusive', 2, 2],
  ['lessThanInclusive', 3, 2],
  ['greaterThan', 3, 2],
  ['greaterThan', 2, 2],
  ['greaterThan', true, 0],
  ['greaterThanInclusive', 2, 2],
  ['greaterThanInclusive', 1.999, 2],
  ['greaterThanInclusive', [5], 2],
  ['someFact:equal', ['a', 'b'], 'b'],
  ['someFact:equal', ['a', 'b'], 'c'],
  ['someFact:equal', 'b', 'b'],
  ['someFact:equal', [], 'b'],
  ['everyFact:greaterThan', [3, 4], 2],
  ['everyFact:greaterThan', [3, 1], 2],
  ['everyFact:greaterThan', [], 2],
  ['everyFact:equal', undefined, 2],
  ['someValue:equal', 'a', ['b', 'a']],
  ['someValue:equal', 'a', ['b']],
  ['someValue:equal', 'a', []],
  ['everyValue:lessThan', 1, [2, 3]],
  ['everyValue:lessThan', 2, [2, 3]],
  ['everyValue:contains', ['web', 'store'], ['web', 'store']],
  ['everyValue:contains', ['web'], ['web', 'store']],
  ['swap:in', ['a', 'b'], 'a'],
  ['swap:in', ['a', 'b'], 'c'],
  ['swap:contains', 'a', ['a', 'b']],
  ['swap:contains', 'a', 'abc'],
  ['swap:lessThan', 34, 30],
  ['not:equal', 'gold', 'silver'],
  ['not:equal', 'gold', 'gold'],
  ['not:lessThan', undefined, 5],
  ['not:contains', 'text', 'x'],
  ['not:someFact:in', ['a', 'b'], ['c']],
  ['not:someFact:in', ['a', 'b'], ['b']],
  ['not:someFact:in', undefined, ['b']],
  ['someFact:someValue:equal', ['a', 'b'], ['c', 'b']],
  ['someFact:someValue:equal', ['a', 'b'], ['c', 'd']],
  ['everyFact:not:in', ['a', 'b'], ['c']],
  ['everyFact:not:in', ['a', 'b'], ['b']],
  ['someValue:not:equal', 'a', ['a', 'a']],
  ['not:not:equal', 1, 1],
  ['swap:not:in', ['a'], 'a'],
  ['someFact:swap:in', [['a', 'b'], ['c']], 'c'],
];

describe('parseOperator', () => {
  it.each(BASE_OPERATOR_NAMES)('accepts the base operator %s', (name) => {
    expect(parseOperator(name)).toEqual({ ok: true, decorators: [], base: name });
  });

  it.each(DECORATOR_NAMES)('accepts the decorator %s', (name) => {
    expect(parseOperator(`${name}:equal`)).toEqual({ ok: true, decorators: [name], base: 'equal' });
  });

  it('lists decorators outermost first', () => {
    expect(parseOperator('not:someFact:swap:in')).toEqual({ ok: true, decorators: ['not', 'someFact', 'swap'], base: 'in' });
  });

  it.each([
    ['equals', /unknown operator "equals"/],
    ['', /unknown operator ""/],
    ['not:', /unknown operator ""/],
    ['someFact', /unknown operator "someFact"/],
    ['equal:not', /unknown decorator "equal"/],
    ['anyFact:equal', /unknown decorator "anyFact"/],
    ['not:any:in', /unknown decorator "any"/],
    [':equal', /unknown decorator ""/],
    ['Equal', /unknown operator "Equal"/],
    ['toString', /unknown operator "toString"/],
    ['constructor:equal', /unknown decorator "constructor"/],
  ])('rejects %j', (operator, message) => {
    const parsed = parseOperator(operator);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message).toMatch(message);
  });
});

describe('operator definitions agree with json-rules-engine on well-typed input', () => {
  it('define every operator and decorator the contract names, once', () => {
    expect(OPERATORS.map((o) => o.name).sort()).toEqual([...BASE_OPERATOR_NAMES].sort());
    expect(DECORATORS.map((d) => d.name).sort()).toEqual([...DECORATOR_NAMES].sort());
  });

  it.each(WELL_TYPED)('%s(%j, %j)', async (operator, factValue, jsonValue) => {
    const expected = await reference(operator, factValue, jsonValue);
    expect(ours(operator, factValue, jsonValue)).toBe(expected);
    expect(await throughOurEngine(operator, factValue, jsonValue)).toBe(expected);
  });

  const primitive = fc.oneof(
    fc.string({ maxLength: 4 }),
    fc.constantFrom('1', '2', '10', '-1', '0.5', 'abc', ''),
    fc.integer({ min: -5, max: 5 }),
    fc.double({ noNaN: true, noDefaultInfinity: true, min: -10, max: 10 }),
    fc.boolean(),
    fc.constant(null),
  );
  const jsonish = fc.oneof(primitive, fc.array(primitive, { maxLength: 4 }));
  const comparable: Record<string, fc.Arbitrary<[unknown, unknown]>> = {
    equal: fc.tuple(jsonish, jsonish),
    notEqual: fc.tuple(jsonish, jsonish),
    in: fc.tuple(jsonish, fc.array(primitive, { maxLength: 4 })),
    notIn: fc.tuple(jsonish, fc.array(primitive, { maxLength: 4 })),
    contains: fc.tuple(jsonish, primitive),
    doesNotContain: fc.tuple(jsonish, primitive),
    lessThan: fc.tuple(jsonish, fc.double({ noNaN: true, noDefaultInfinity: true })),
    lessThanInclusive: fc.tuple(jsonish, fc.integer()),
    greaterThan: fc.tuple(jsonish, fc.integer()),
    greaterThanInclusive: fc.tuple(jsonish, fc.double({ noNaN: true, noDefaultInfinity: true })),
    'someFact:equal': fc.tuple(fc.array(primitive, { maxLength: 4 }), primitive),
    'everyFact:lessThan': fc.tuple(fc.array(primitive, { maxLength: 4 }), fc.integer({ min: -5, max: 5 })),
    'someValue:in': fc.tuple(primitive, fc.array(fc.array(primitive, { maxLength: 3 }), { maxLength: 3 })),
    'everyValue:notEqual': fc.tuple(jsonish, fc.array(primitive, { maxLength: 4 })),
    'swap:contains': fc.tuple(primitive, fc.array(primitive, { maxLength: 4 })),
    'not:in': fc.tuple(jsonish, fc.array(primitive, { maxLength: 4 })),
  };

  it.each(Object.keys(comparable))('%s on generated input', async (operator) => {
    await fc.assert(
      fc.asyncProperty(comparable[operator] as fc.Arbitrary<[unknown, unknown]>, async ([factValue, jsonValue]) => {
        expect(ours(operator, factValue, jsonValue)).toBe(await reference(operator, factValue, jsonValue));
      }),
      { numRuns: 150, seed: 20_260_601 },
    );
  });
});

describe('where json-rules-engine throws, ours answers false', () => {
  const THROWING: Row[] = [
    ['in', 'gold', null],
    ['in', 'gold', 5],
    ['notIn', 'gold', null],
    ['someValue:equal', 'gold', 'gold'],
    ['someValue:equal', 'gold', null],
    ['everyValue:equal', 'gold', 7],
    ['swap:in', undefined, 'gold'],
    ['swap:in', 5, 'gold'],
    ['swap:notIn', true, 'gold'],
  ];

  it.each(THROWING)('%s(%j, %j)', async (operator, factValue, jsonValue) => {
    await expect(reference(operator, factValue, jsonValue)).rejects.toThrow(TypeError);
    expect(ours(operator, factValue, jsonValue)).toBe(false);
    await expect(throughOurEngine(operator, factValue, jsonValue)).resolves.toBe(false);
  });

  it('never throws on any generated pair, for every operator and decorator', () => {
    const anything = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined));
    const operator = fc.oneof(
      fc.constantFrom(...BASE_OPERATOR_NAMES),
      fc.tuple(fc.constantFrom(...DECORATOR_NAMES), fc.constantFrom(...BASE_OPERATOR_NAMES)).map(([d, b]) => `${d}:${b}`),
      fc
        .tuple(fc.constantFrom(...DECORATOR_NAMES), fc.constantFrom(...DECORATOR_NAMES), fc.constantFrom(...BASE_OPERATOR_NAMES))
        .map(([d1, d2, b]) => `${d1}:${d2}:${b}`),
    );
    fc.assert(
      fc.property(operator, anything, anything, (op, factValue, jsonValue) => {
        expect(typeof ours(op, factValue, jsonValue)).toBe('boolean');
      }),
      { numRuns: 2000, seed: 7 },
    );
  });
});

describe('stageAtLeast / stageAtMost', () => {
  it.each([
    ['stageAtLeast', 'purchase', 'consideration', true],
    ['stageAtLeast', 'purchase', 'purchase', true],
    ['stageAtLeast', 'purchase', 'retention', false],
    ['stageAtLeast', 'awareness', 'awareness', true],
    ['stageAtLeast', 'advocacy', 'awareness', true],
    ['stageAtMost', 'purchase', 'retention', true],
    ['stageAtMost', 'purchase', 'purchase', true],
    ['stageAtMost', 'purchase', 'consideration', false],
    ['stageAtMost', 'awareness', 'advocacy', true],
  ] as const)('%s(%s, %s) is %s', async (operator, factValue, jsonValue, expected) => {
    expect(ours(operator, factValue, jsonValue)).toBe(expected);
    expect(await throughOurEngine(operator, factValue, jsonValue)).toBe(expected);
  });

  it.each([
    ['stageAtLeast', 'vip', 'awareness'],
    ['stageAtMost', 'vip', 'advocacy'],
    ['stageAtLeast', 'purchase', 'vip'],
    ['stageAtMost', 'purchase', 'vip'],
    ['stageAtLeast', undefined, 'awareness'],
    ['stageAtLeast', null, 'awareness'],
    ['stageAtLeast', 2, 'awareness'],
    ['stageAtMost', 'purchase', 2],
    ['stageAtLeast', 'toString', 'awareness'],
    ['stageAtMost', 'purchase', 'constructor'],
  ] as const)('%s(%j, %j) is false: not a listed stage', (operator, factValue, jsonValue) => {
    expect(ours(operator, factValue, jsonValue)).toBe(false);
  });

  it('compare by position in the ruleset’s own stage list', () => {
    const custom = createOperators(new Map([['lead', 0], ['customer', 1], ['champion', 2]]));
    const atLeast = custom.find((o) => o.name === 'stageAtLeast');
    const check = (a: string, b: string): boolean => !!atLeast && atLeast.validator(a) && atLeast.evaluate(a, b);
    expect(check('champion', 'customer')).toBe(true);
    expect(check('lead', 'customer')).toBe(false);
    expect(check('purchase', 'lead')).toBe(false);
  });

  it('work under decorators', () => {
    expect(ours('someValue:stageAtLeast', 'purchase', ['retention', 'consideration'])).toBe(true);
    expect(ours('everyValue:stageAtLeast', 'purchase', ['retention', 'consideration'])).toBe(false);
    expect(ours('someFact:stageAtMost', ['advocacy', 'awareness'], 'consideration')).toBe(true);
    expect(ours('swap:stageAtLeast', 'consideration', 'purchase')).toBe(true);
    expect(ours('not:stageAtLeast', 'awareness', 'purchase')).toBe(true);
  });
});
