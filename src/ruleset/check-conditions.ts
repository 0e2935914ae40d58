/**
 * Checks what zod cannot: that a condition's fact, params, path, operator and
 * value make sense together, and that segment references resolve. Every
 * problem is reported with its JSON path; checking goes on after the first.
 */
import { isPlainObject, joinPath } from '../domain/json.js';
import type { Condition, FactCondition, RuleError } from '../domain/rule-files.js';
import { FACT_NAMES, factSpec, isFactName } from '../conditions/fact-catalog.js';
import { parseOperator, type BaseOperatorName, type DecoratorName } from '../conditions/operators.js';
import { parsePath } from '../conditions/paths.js';
import { formatZodIssues } from './zod-issues.js';

export interface ConditionScope {
  file: string;
  /** Stage rules (and the segments they use) cannot read the stage they decide. */
  inStageRule: boolean;
  /** null: journey.json could not be read, so stage names are not checked (they would all look unknown). */
  stageIndex: ReadonlyMap<string, number> | null;
  /** null: segments.json could not be read, so segment references are not checked. */
  segmentNames: ReadonlySet<string> | null;
  errors: RuleError[];
  /** Collects the segments referenced, for cycle and stage-use checks. */
  references?: Set<string>;
  /** Collects the facts used, so segments used by stage rules can be checked. */
  factsUsed?: Set<string>;
  /** The catalog's item ids, for facts that name items; null or absent: not known, not checked. */
  catalogIds?: ReadonlySet<string> | null;
  /** The placements defined, for facts that name placements; null or absent: not known, not checked. */
  placementNames?: ReadonlySet<string> | null;
}

export function checkCondition(condition: Condition, path: string, scope: ConditionScope): void {
  if ('all' in condition) {
    condition.all.forEach((child, i) => checkCondition(child, joinPath(joinPath(path, 'all'), i), scope));
  } else if ('any' in condition) {
    condition.any.forEach((child, i) => checkCondition(child, joinPath(joinPath(path, 'any'), i), scope));
  } else if ('not' in condition) {
    checkCondition(condition.not, joinPath(path, 'not'), scope);
  } else if ('condition' in condition) {
    scope.references?.add(condition.condition);
    if (scope.segmentNames && !scope.segmentNames.has(condition.condition)) {
      const known = [...scope.segmentNames];
      scope.errors.push({
        file: scope.file,
        path: joinPath(path, 'condition'),
        message: `unknown segment "${condition.condition}"${known.length ? `; segments.json defines ${known.map((n) => `"${n}"`).join(', ')}` : '; segments.json defines none'}`,
      });
    }
  } else {
    checkFactCondition(condition, path, scope);
  }
}

function checkFactCondition(condition: FactCondition, path: string, scope: ConditionScope): void {
  const error = (at: string, message: string): void => {
    scope.errors.push({ file: scope.file, path: at, message });
  };
  const factOk = checkFactUse(condition.fact, condition.params, condition.path, path, scope);

  const operator = parseOperator(condition.operator);
  if (!operator.ok) {
    error(joinPath(path, 'operator'), operator.message);
    return;
  }
  const value = condition.value;
  if (isPlainObject(value)) {
    if (Object.prototype.hasOwnProperty.call(value, 'fact')) {
      checkFactReference(value, joinPath(path, 'value'), scope);
    } else {
      error(joinPath(path, 'value'), 'must be a JSON value (string, number, boolean, null) or an array, or a fact reference {"fact": ...}');
    }
    return;
  }
  if (factOk) checkValue(operator.decorators, operator.base, value, joinPath(path, 'value'), scope);
}

/** Checks a fact name with its params and path; returns whether the fact itself is known. */
function checkFactUse(
  fact: string,
  params: Record<string, unknown> | undefined,
  factPath: string | undefined,
  path: string,
  scope: ConditionScope,
): boolean {
  const error = (at: string, message: string): void => {
    scope.errors.push({ file: scope.file, path: at, message });
  };
  if (!isFactName(fact)) {
    error(joinPath(path, 'fact'), `unknown fact "${fact}"; known facts: ${FACT_NAMES.join(', ')}`);
    return false;
  }
  scope.factsUsed?.add(fact);
  const spec = factSpec(fact);
  if (scope.inStageRule && !spec.usableInStageRules) {
    error(joinPath(path, 'fact'), `stage rules decide the stage, so they cannot use the "${fact}" fact`);
  }
  if (spec.params) {
    if (params === undefined) {
      if (spec.paramsRequired) error(joinPath(path, 'params'), `is required for the "${fact}" fact`);
    } else {
      const parsed = spec.params.safeParse(params);
      if (!parsed.success) {
        for (const e of formatZodIssues(parsed.error.issues, params)) {
          error(e.path.replace(/^\$/, joinPath(path, 'params')), e.message);
        }
      } else if (fact === 'outcomeCount') {
        checkOutcomeReferences(params, joinPath(path, 'params'), scope);
      }
    }
  } else if (params !== undefined) {
    error(joinPath(path, 'params'), `the "${fact}" fact takes no params`);
  }
  if (factPath !== undefined) {
    if (!spec.hasProperties) {
      error(joinPath(path, 'path'), `the "${fact}" fact has no properties to read; remove "path"`);
    } else {
      const parsed = parsePath(factPath);
      if (!parsed.ok) error(joinPath(path, 'path'), parsed.message);
    }
  }
  return true;
}

/** The items and placements outcomeCount names must exist: a typo would count nothing, silently. */
function checkOutcomeReferences(params: Record<string, unknown>, path: string, scope: ConditionScope): void {
  const check = (key: 'item' | 'placement', known: ReadonlySet<string> | null | undefined, what: (name: string) => string): void => {
    const value = params[key];
    if (!known || value === undefined) return;
    const names = typeof value === 'string' ? [value] : Array.isArray(value) ? value : [];
    names.forEach((name, i) => {
      if (typeof name === 'string' && !known.has(name)) {
        scope.errors.push({ file: scope.file, path: Array.isArray(value) ? joinPath(joinPath(path, key), i) : joinPath(path, key), message: what(name) });
      }
    });
  };
  check('item', scope.catalogIds, (id) => `unknown item "${id}"; it is not in catalog.json`);
  check('placement', scope.placementNames, (name) => {
    const known = [...(scope.placementNames ?? [])].sort();
    return `unknown placement "${name}"; the rules define ${known.map((n) => `"${n}"`).join(', ') || 'none'}`;
  });
}

function checkFactReference(value: Record<string, unknown>, path: string, scope: ConditionScope): void {
  for (const key of Object.keys(value)) {
    if (key !== 'fact' && key !== 'params' && key !== 'path') {
      scope.errors.push({ file: scope.file, path: joinPath(path, key), message: 'unknown key in a fact reference' });
    }
  }
  const { fact, params, path: factPath } = value;
  if (typeof fact !== 'string') {
    scope.errors.push({ file: scope.file, path: joinPath(path, 'fact'), message: 'must be a fact name' });
    return;
  }
  if (params !== undefined && !isPlainObject(params)) {
    scope.errors.push({ file: scope.file, path: joinPath(path, 'params'), message: 'must be an object' });
    return;
  }
  if (factPath !== undefined && typeof factPath !== 'string') {
    scope.errors.push({ file: scope.file, path: joinPath(path, 'path'), message: 'must be a string' });
    return;
  }
  checkFactUse(fact, params, factPath, path, scope);
}

/** Checks the value against what the (decorated) operator compares it with. */
function checkValue(
  decorators: readonly DecoratorName[],
  base: BaseOperatorName,
  value: unknown,
  path: string,
  scope: ConditionScope,
): void {
  const error = (message: string, at = path): void => {
    scope.errors.push({ file: scope.file, path: at, message });
  };
  const [first, ...rest] = decorators;
  if (first !== undefined) {
    if (first === 'swap') return; // the value becomes the fact side: any JSON value may be compared
    if (first === 'someValue' || first === 'everyValue') {
      if (!Array.isArray(value)) {
        error(`"${first}:" compares with each element of a list: the value must be an array`);
        return;
      }
      value.forEach((element, i) => {
        if (isPlainObject(element)) error('must be a JSON value or an array', joinPath(path, i));
        else checkValue(rest, base, element, joinPath(path, i), scope);
      });
      return;
    }
    checkValue(rest, base, value, path, scope);
    return;
  }
  switch (base) {
    case 'in':
    case 'notIn':
      if (!Array.isArray(value)) error(`"${base}" looks the fact up in a list: the value must be an array`);
      return;
    case 'lessThan':
    case 'lessThanInclusive':
    case 'greaterThan':
    case 'greaterThanInclusive':
      if (typeof value !== 'number') error(`"${base}" compares numbers: the value must be a number`);
      return;
    case 'stageAtLeast':
    case 'stageAtMost':
      if (scope.stageIndex && (typeof value !== 'string' || !scope.stageIndex.has(value))) {
        error(`unknown stage ${JSON.stringify(value)}; stages are ${[...scope.stageIndex.keys()].join(', ')}`);
      }
      return;
    default:
      return;
  }
}
