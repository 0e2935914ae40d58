/**
 * json-rules-engine's condition semantics, evaluated synchronously over a
 * FactSource: the same operators (src/conditions/operators.ts), the same path
 * resolver, facts referenced in `value`, a path on a non-object fact giving
 * the fact itself, `all: []` true. Used for explain traces (and shared with
 * the compiled evaluator); differential tests hold it equal to the engine.
 */
import type { Json } from '../domain/json.js';
import type { ConditionTrace, FactConditionTrace } from '../domain/trace.js';
import type { Condition, FactCondition } from '../domain/rule-files.js';
import { factReader, type FactSource } from './fact-source.js';
import type { MatcherEnvironment } from './matcher.js';
import type { Comparison } from './operators.js';
import { resolvePathString } from './paths.js';

/** A fact's value with its params, read into with `path` when the value is an object. */
export function readFact(facts: FactSource, fact: string, params: Record<string, unknown> | undefined, path: string | undefined): unknown {
  const value = factReader(fact, params ?? {})(facts);
  if (path && value !== null && typeof value === 'object') return resolvePathString(value, path);
  return value;
}

/** The right-hand side: the value, or the fact it references ({ "fact": ... }). */
export function readValue(facts: FactSource, value: unknown): unknown {
  if (value !== null && typeof value === 'object' && Object.prototype.hasOwnProperty.call(value, 'fact')) {
    const ref = value as { fact: string; params?: Record<string, unknown>; path?: string };
    return readFact(facts, ref.fact, ref.params, ref.path);
  }
  return value;
}

export interface TraceEnvironment extends MatcherEnvironment {
  operator: (name: string) => Comparison | null;
}

/** Evaluates a condition and records every sub-condition's outcome; every branch is evaluated, for a complete picture. */
export function traceCondition(condition: Condition, facts: FactSource, env: TraceEnvironment): ConditionTrace {
  if ('all' in condition) {
    const all = condition.all.map((c) => traceCondition(c, facts, env));
    return { all, result: all.every((t) => t.result) };
  }
  if ('any' in condition) {
    const any = condition.any.map((c) => traceCondition(c, facts, env));
    // json-rules-engine treats an empty `any` as true; validation rejects it, this keeps the engine's answer regardless.
    return { any, result: any.length === 0 || any.some((t) => t.result) };
  }
  if ('not' in condition) {
    const not = traceCondition(condition.not, facts, env);
    return { not, result: !not.result };
  }
  if ('condition' in condition) {
    const segment = env.segments.get(condition.condition);
    if (!segment) return { condition: condition.condition, result: false, conditions: { all: [], result: false } };
    const inner = traceCondition(segment, facts, env);
    return { condition: condition.condition, result: inner.result, conditions: inner };
  }
  return traceFactCondition(condition, facts, env);
}

function traceFactCondition(condition: FactCondition, facts: FactSource, env: TraceEnvironment): FactConditionTrace {
  const factValue = readFact(facts, condition.fact, condition.params, condition.path);
  const jsonValue = readValue(facts, condition.value);
  const compare = env.operator(condition.operator);
  const trace: FactConditionTrace = {
    fact: condition.fact,
    ...(condition.params ? { params: condition.params } : {}),
    ...(condition.path !== undefined ? { path: condition.path } : {}),
    operator: condition.operator,
    value: condition.value as Json,
    ...(jsonValue !== condition.value ? { valueResult: jsonValue } : {}),
    ...(factValue !== undefined ? { factValue } : {}),
    result: compare ? compare(factValue, jsonValue) : false,
  };
  return trace;
}
