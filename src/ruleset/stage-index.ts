/**
 * Which stages a rule can match in, read from its conditions: a rule whose
 * top-level `all` requires `stage equal "purchase"` (or `in`, `stageAtLeast`,
 * `stageAtMost`, `notEqual`, `notIn`, or a numeric test of `stageIndex`),
 * directly or through a segment, can never match a customer in another stage,
 * so a request need not look at it. Anything else leaves the rule possible in
 * every stage: the index only ever skips rules that cannot match.
 */
import type { BooleanCondition, Condition } from '../domain/rule-files.js';

export function possibleStages(
  condition: Condition,
  segments: ReadonlyMap<string, BooleanCondition>,
  stages: readonly string[],
): Set<string> | null {
  if ('all' in condition) {
    return condition.all
      .map((child) => possibleStages(child, segments, stages))
      .reduce<Set<string> | null>((acc, allowed) => (!allowed ? acc : !acc ? allowed : new Set([...acc].filter((s) => allowed.has(s)))), null);
  }
  if ('condition' in condition) {
    const segment = segments.get(condition.condition);
    return segment ? possibleStages(segment, segments, stages) : null;
  }
  if ('any' in condition || 'not' in condition) return null;
  if (condition.path !== undefined) return null;
  const { fact, operator, value } = condition;
  // A value that is a fact reference is only known at decision time.
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) return null;
  const index = (stage: unknown): number => (typeof stage === 'string' ? stages.indexOf(stage) : -1);
  const where = (test: (stage: string, i: number) => boolean): Set<string> => new Set(stages.filter(test));
  if (fact === 'stage') {
    switch (operator) {
      case 'equal':
        return where((s) => s === value);
      case 'notEqual':
        return where((s) => s !== value);
      case 'in':
        return Array.isArray(value) ? where((s) => value.includes(s)) : null;
      case 'notIn':
        return Array.isArray(value) ? where((s) => !value.includes(s)) : null;
      case 'stageAtLeast':
        if (typeof value !== 'string') return null;
        return index(value) >= 0 ? where((_, i) => i >= index(value)) : where(() => false);
      case 'stageAtMost':
        if (typeof value !== 'string') return null;
        return index(value) >= 0 ? where((_, i) => i <= index(value)) : where(() => false);
      default:
        return null;
    }
  }
  if (fact === 'stageIndex' && typeof value === 'number') {
    switch (operator) {
      case 'equal':
        return where((_, i) => i === value);
      case 'notEqual':
        return where((_, i) => i !== value);
      case 'lessThan':
        return where((_, i) => i < value);
      case 'lessThanInclusive':
        return where((_, i) => i <= value);
      case 'greaterThan':
        return where((_, i) => i > value);
      case 'greaterThanInclusive':
        return where((_, i) => i >= value);
      default:
        return null;
    }
  }
  return null;
}
