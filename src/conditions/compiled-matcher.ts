/**
 * Rule matching compiled at load time. Each rule's conditions become one
 * synchronous function over the decision's facts: fact parameters, paths,
 * operators (decorators applied) and segment references are resolved once
 * per snapshot, not once per request, and nothing is cloned or awaited.
 *
 * The semantics are json-rules-engine's, condition for condition; it shares
 * its operators (operators.ts) and fact reading (fact-source.ts) with the
 * tracing evaluator (trace.ts), and property-based tests hold all three equal. Because a rule can be tested
 * on its own, arbitration asks rule by rule and stops once a placement is full.
 */
import type { BooleanCondition, Condition, FactCondition } from '../domain/rule-files.js';
import { factReader, type FactReader, type FactSource } from './fact-source.js';
import type { MatcherEnvironment, MatcherFactory, RuleMatcher } from './matcher.js';
import { createOperatorResolver } from './operators.js';
import { parsePath, resolvePath, type PathSegment } from './paths.js';

export type Predicate = (facts: FactSource) => boolean;

/** A kept segment result: not evaluated yet in this decision, true, or false. */
const UNKNOWN = 0;
const TRUE = 1;
const FALSE = 2;

export const createCompiledMatcher: MatcherFactory = (rules, env) => {
  const compiler = sharedCompiler(env);
  const predicates = new Map<string, Predicate>();
  for (const rule of rules) predicates.set(rule.name, compiler.compile(rule.conditions));
  return {
    match(facts: FactSource): ReadonlySet<string> {
      const matched = new Set<string>();
      for (const [name, holds] of predicates) if (holds(facts)) matched.add(name);
      return matched;
    },
    holds(ruleName: string, facts: FactSource): boolean {
      const holds = predicates.get(ruleName);
      return holds !== undefined && holds(facts);
    },
  } satisfies RuleMatcher;
};

export interface ConditionCompiler {
  compile(condition: Condition): Predicate;
}

/**
 * One compiler for every matcher of a snapshot (its stage rules and each
 * placement share the environment): segments then compile once, and equal
 * fact params are one object across all the rules, so the facts' memo by
 * params object computes a count that fifty rules ask for once.
 */
const compilers = new WeakMap<MatcherEnvironment, ConditionCompiler>();

function sharedCompiler(env: MatcherEnvironment): ConditionCompiler {
  let compiler = compilers.get(env);
  if (!compiler) {
    compiler = createConditionCompiler(env);
    compilers.set(env, compiler);
  }
  return compiler;
}

export function createConditionCompiler(env: MatcherEnvironment): ConditionCompiler {
  const operator = createOperatorResolver(env.stageIndex);
  const params = new Map<string, Record<string, unknown>>();
  /** Equal params (same keys and values, in any key order) as one object. */
  const internParams = (given: Record<string, unknown> | undefined): Record<string, unknown> => {
    const key = given === undefined ? '{}' : JSON.stringify(Object.keys(given).sort().map((k) => [k, given[k]]));
    let shared = params.get(key);
    if (!shared) {
      shared = given ?? {};
      params.set(key, shared);
    }
    return shared;
  };
  // Segments compile once and are shared by every rule that references them (validation rules out cycles).
  const segments = new Map<string, Predicate>();

  const compile = (condition: Condition): Predicate => {
    if ('all' in condition) return allOf(condition.all.map(compile));
    if ('any' in condition) {
      // json-rules-engine holds an empty `any` true; validation rejects it, this keeps the engine's answer regardless.
      if (condition.any.length === 0) return () => true;
      return anyOf(condition.any.map(compile));
    }
    if ('not' in condition) {
      const inner = compile(condition.not);
      return (facts) => !inner(facts);
    }
    if ('condition' in condition) return segment(condition.condition);
    return compileFactCondition(condition);
  };

  // A segment's result, kept for the rest of the decision: rules often share a segment ("holdout",
  // "vip"). Kept for one facts object at a time (decisions evaluate synchronously, one after
  // another) and dropped when its stage changes, since segments may read the stage.
  let owner: FactSource | undefined;
  let ownerStage: string | undefined;
  let results = new Int8Array(0);
  let slots = 0;
  const remembered = (slot: number, evaluate: Predicate): Predicate => {
    return (facts) => {
      if (facts !== owner || facts.stage !== ownerStage) {
        owner = facts;
        ownerStage = facts.stage;
        results.fill(UNKNOWN);
      }
      const known = results[slot];
      if (known !== UNKNOWN) return known === TRUE;
      const result = evaluate(facts);
      results[slot] = result ? TRUE : FALSE;
      return result;
    };
  };

  const segment = (name: string): Predicate => {
    let predicate = segments.get(name);
    if (!predicate) {
      const definition: BooleanCondition | undefined = env.segments.get(name);
      if (definition) {
        const slot = slots++;
        if (results.length <= slot) results = new Int8Array(Math.max(8, 2 * results.length));
        owner = undefined;
        const evaluate = compile(definition);
        predicate = remembered(slot, evaluate);
      } else {
        predicate = () => false;
      }
      segments.set(name, predicate);
    }
    return predicate;
  };

  const compileFactCondition = (condition: FactCondition): Predicate => {
    const compare = operator(condition.operator);
    if (!compare) return () => false;
    const fact = factGetter(condition.fact, internParams(condition.params), condition.path);
    const value = valueGetter(condition.value, internParams);
    if (value.constant) {
      const expected = value.value;
      return (facts) => compare(fact(facts), expected);
    }
    const getValue = value.get;
    return (facts) => compare(fact(facts), getValue(facts));
  };

  return { compile };
}

function allOf(predicates: Predicate[]): Predicate {
  switch (predicates.length) {
    case 0:
      return () => true;
    case 1:
      return predicates[0] as Predicate;
    case 2: {
      const [a, b] = predicates as [Predicate, Predicate];
      return (facts) => a(facts) && b(facts);
    }
    default:
      return (facts) => {
        for (const p of predicates) if (!p(facts)) return false;
        return true;
      };
  }
}

function anyOf(predicates: Predicate[]): Predicate {
  if (predicates.length === 1) return predicates[0] as Predicate;
  return (facts) => {
    for (const p of predicates) if (p(facts)) return true;
    return false;
  };
}

/** Reads a fact as json-rules-engine does: with its params, then `path` into it when the value is an object. */
function factGetter(fact: string, params: Record<string, unknown> | undefined, path: string | undefined): FactReader {
  const base = factReader(fact, params ?? {});
  // The engine resolves a path only when one is given (a non-empty string).
  if (!path) return base;
  const parsed = parsePath(path);
  // The engine's resolver finds nothing on an unreadable path, but only objects go through it.
  if (!parsed.ok) {
    return (facts) => {
      const value = base(facts);
      return value !== null && typeof value === 'object' ? undefined : value;
    };
  }
  const segments: readonly PathSegment[] = parsed.segments;
  return (facts) => {
    const value = base(facts);
    return value !== null && typeof value === 'object' ? resolvePath(value, segments) : value;
  };
}

type ValueGetter = { constant: true; value: unknown } | { constant: false; get: FactReader };

/** The right-hand side: a constant, or a fact it references ({ "fact": ... }), as the engine's almanac reads it. */
function valueGetter(value: unknown, internParams: (params: Record<string, unknown> | undefined) => Record<string, unknown>): ValueGetter {
  if (value !== null && typeof value === 'object' && Object.prototype.hasOwnProperty.call(value, 'fact')) {
    const ref = value as { fact: string; params?: Record<string, unknown>; path?: string };
    return { constant: false, get: factGetter(ref.fact, internParams(ref.params), ref.path) };
  }
  return { constant: true, value };
}
