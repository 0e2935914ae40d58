/**
 * The operators and decorators a condition may use. json-rules-engine's own
 * definitions throw on some type mismatches (`in` with a non-array value,
 * `someValue:` on a non-array); a throw would fail the whole decision, so these
 * keep the engine's results for well-typed input and answer false otherwise.
 * Both evaluators register exactly these definitions.
 */

export type OperatorFn = (factValue: unknown, jsonValue: unknown) => boolean;

export interface OperatorDefinition {
  name: string;
  /** Checked first; false makes the condition false without calling `evaluate`. */
  validator: (factValue: unknown) => boolean;
  evaluate: OperatorFn;
}

export interface DecoratorDefinition {
  name: string;
  validator: (factValue: unknown) => boolean;
  evaluate: (factValue: unknown, jsonValue: unknown, next: OperatorFn) => boolean;
}

export const BASE_OPERATOR_NAMES = [
  'equal',
  'notEqual',
  'in',
  'notIn',
  'contains',
  'doesNotContain',
  'lessThan',
  'lessThanInclusive',
  'greaterThan',
  'greaterThanInclusive',
  'stageAtLeast',
  'stageAtMost',
] as const;
export type BaseOperatorName = (typeof BASE_OPERATOR_NAMES)[number];

export const DECORATOR_NAMES = ['not', 'someFact', 'someValue', 'everyFact', 'everyValue', 'swap'] as const;
export type DecoratorName = (typeof DECORATOR_NAMES)[number];

const always = (_factValue: unknown): boolean => true;
const isArray = (value: unknown): value is unknown[] => Array.isArray(value);
const isSearchable = (value: unknown): value is unknown[] | string => Array.isArray(value) || typeof value === 'string';
/**
 * json-rules-engine's own test for numeric operators, `parseFloat(value).toString() !== 'NaN'`,
 * without turning a number into a string and back: for a number that test is false only for NaN.
 * (It was the costliest line of a decision, most numeric facts being numbers.)
 */
const isNumberLike = (value: unknown): boolean =>
  typeof value === 'number' ? !Number.isNaN(value) : !Number.isNaN(Number.parseFloat(value as string));

function compare(evaluate: (a: number, b: number) => boolean): OperatorFn {
  return (a, b) => evaluate(a as number, b as number);
}

/**
 * Attributes and context are the customer's and caller's own data: an object
 * with a "toString" key of its own makes JavaScript's comparisons and
 * parseFloat throw. A comparison that cannot be made is false, never a failed decision.
 */
function neverThrows<A extends unknown[]>(fn: (...args: A) => boolean): (...args: A) => boolean {
  return (...args) => {
    try {
      return fn(...args);
    } catch {
      return false;
    }
  };
}

/** The operators of one ruleset; the stage operators depend on its stage list. */
export function createOperators(stageIndex: ReadonlyMap<string, number>): OperatorDefinition[] {
  return baseOperators(stageIndex).map((op) => ({ ...op, validator: neverThrows(op.validator), evaluate: neverThrows(op.evaluate) }));
}

function baseOperators(stageIndex: ReadonlyMap<string, number>): OperatorDefinition[] {
  const isStage = (value: unknown): boolean => typeof value === 'string' && stageIndex.has(value);
  const stageCompare =
    (test: (fact: number, expected: number) => boolean): OperatorFn =>
    (a, b) => {
      const expected = typeof b === 'string' ? stageIndex.get(b) : undefined;
      return expected !== undefined && test(stageIndex.get(a as string) as number, expected);
    };
  return [
    { name: 'equal', validator: always, evaluate: (a, b) => a === b },
    { name: 'notEqual', validator: always, evaluate: (a, b) => a !== b },
    { name: 'in', validator: always, evaluate: (a, b) => isSearchable(b) && (b as unknown[]).indexOf(a) > -1 },
    { name: 'notIn', validator: always, evaluate: (a, b) => isSearchable(b) && (b as unknown[]).indexOf(a) === -1 },
    { name: 'contains', validator: isArray, evaluate: (a, b) => (a as unknown[]).indexOf(b) > -1 },
    { name: 'doesNotContain', validator: isArray, evaluate: (a, b) => (a as unknown[]).indexOf(b) === -1 },
    { name: 'lessThan', validator: isNumberLike, evaluate: compare((a, b) => a < b) },
    { name: 'lessThanInclusive', validator: isNumberLike, evaluate: compare((a, b) => a <= b) },
    { name: 'greaterThan', validator: isNumberLike, evaluate: compare((a, b) => a > b) },
    { name: 'greaterThanInclusive', validator: isNumberLike, evaluate: compare((a, b) => a >= b) },
    { name: 'stageAtLeast', validator: isStage, evaluate: stageCompare((fact, expected) => fact >= expected) },
    { name: 'stageAtMost', validator: isStage, evaluate: stageCompare((fact, expected) => fact <= expected) },
  ];
}

export const DECORATORS: readonly DecoratorDefinition[] = (
  [
  { name: 'someFact', validator: isArray, evaluate: (a, b, next) => (a as unknown[]).some((fv) => next(fv, b)) },
  { name: 'someValue', validator: always, evaluate: (a, b, next) => isArray(b) && b.some((jv) => next(a, jv)) },
  { name: 'everyFact', validator: isArray, evaluate: (a, b, next) => (a as unknown[]).every((fv) => next(fv, b)) },
  { name: 'everyValue', validator: always, evaluate: (a, b, next) => isArray(b) && b.every((jv) => next(a, jv)) },
  { name: 'swap', validator: always, evaluate: (a, b, next) => next(b, a) },
  { name: 'not', validator: always, evaluate: (a, b, next) => !next(a, b) },
  ] satisfies DecoratorDefinition[]
).map((d) => ({ ...d, validator: neverThrows(d.validator), evaluate: neverThrows(d.evaluate) }));

/** An operator ready to apply: the fact validator, then the comparison. */
export type Comparison = (factValue: unknown, jsonValue: unknown) => boolean;

/** Resolves "not:someFact:in" to one function, built the way json-rules-engine's OperatorMap builds it. */
export function createOperatorResolver(stageIndex: ReadonlyMap<string, number>): (name: string) => Comparison | null {
  const bases = new Map(createOperators(stageIndex).map((op) => [op.name, op]));
  const decorators = new Map(DECORATORS.map((d) => [d.name, d]));
  const cache = new Map<string, Comparison | null>();
  return (name) => {
    const cached = cache.get(name);
    if (cached !== undefined) return cached;
    const parts = name.split(':');
    const base = bases.get(parts.pop() as string);
    let result: Comparison | null = null;
    if (base) {
      let validator = base.validator;
      let evaluate: OperatorFn = base.evaluate;
      let ok = true;
      // Innermost decorator first, as json-rules-engine applies them.
      for (const decoratorName of parts.reverse()) {
        const decorator = decorators.get(decoratorName);
        if (!decorator) {
          ok = false;
          break;
        }
        const nextValidator = validator;
        const nextEvaluate = evaluate;
        const next: OperatorFn = (a, b) => nextValidator(a) && nextEvaluate(a, b);
        evaluate = (a, b) => decorator.evaluate(a, b, next);
        validator = decorator.validator;
      }
      if (ok) {
        const finalValidator = validator;
        const finalEvaluate = evaluate;
        result = (a, b) => finalValidator(a) && finalEvaluate(a, b);
      }
    }
    cache.set(name, result);
    return result;
  };
}

export type OperatorParse =
  | { ok: true; decorators: DecoratorName[]; base: BaseOperatorName }
  | { ok: false; message: string };

const baseNames: ReadonlySet<string> = new Set(BASE_OPERATOR_NAMES);
const decoratorNames: ReadonlySet<string> = new Set(DECORATOR_NAMES);

/** Splits "not:someFact:equal" into its decorators (outermost first) and base operator. */
export function parseOperator(operator: string): OperatorParse {
  const parts = operator.split(':');
  const base = parts.pop() as string;
  for (const decorator of parts) {
    if (!decoratorNames.has(decorator)) {
      return { ok: false, message: `unknown decorator "${decorator}"; use one of ${DECORATOR_NAMES.join(', ')}` };
    }
  }
  if (!baseNames.has(base)) {
    return { ok: false, message: `unknown operator "${base}"; use one of ${BASE_OPERATOR_NAMES.join(', ')}` };
  }
  return { ok: true, decorators: parts as DecoratorName[], base: base as BaseOperatorName };
}
