/**
 * Rule matching on json-rules-engine itself.
 *
 * An Engine keeps its run status on the instance, so two runs sharing one
 * Engine interfere: when the first finishes it marks the Engine finished and
 * the second skips its remaining (lower-priority) rules. Each run therefore
 * takes an Engine of its own from a small pool.
 */
import { Engine, Operator, OperatorDecorator, type RuleProperties, type TopLevelCondition } from 'json-rules-engine';
import { resolvePathString } from './paths.js';
import { createOperators, DECORATORS } from './operators.js';
import type { FactSource } from './fact-source.js';
import type { MatchableRule, MatcherEnvironment, MatcherFactory, RuleMatcher } from './matcher.js';

const MAX_IDLE_ENGINES = 64;

export const createJreMatcher: MatcherFactory = (rules, env) => {
  const idle: Engine[] = [];
  const build = (): Engine => buildEngine(rules, env);
  return {
    async match(facts: FactSource): Promise<ReadonlySet<string>> {
      if (rules.length === 0) return new Set();
      const engine = idle.pop() ?? build();
      try {
        const { results } = await engine.run(runtimeFacts(facts));
        return new Set(results.map((r) => String(r.name)));
      } finally {
        if (idle.length < MAX_IDLE_ENGINES) idle.push(engine);
      }
    },
  } satisfies RuleMatcher;
};

export function buildEngine(rules: readonly MatchableRule[], env: MatcherEnvironment): Engine {
  const engine = new Engine([], {
    allowUndefinedFacts: false,
    allowUndefinedConditions: false,
    replaceFactsInEventParams: false,
    pathResolver: resolvePathString,
  });
  for (const op of createOperators(env.stageIndex)) {
    engine.addOperator(new Operator(op.name, op.evaluate, op.validator));
  }
  for (const decorator of DECORATORS) {
    engine.addOperatorDecorator(new OperatorDecorator(decorator.name, decorator.evaluate, decorator.validator));
  }
  for (const [name, condition] of env.segments) {
    engine.setCondition(name, condition as TopLevelCondition);
  }
  for (const rule of rules) {
    engine.addRule({
      name: rule.name,
      priority: rule.priority,
      conditions: rule.conditions as TopLevelCondition,
      event: { type: 'match' },
    } as RuleProperties);
  }
  return engine;
}

/** Facts handed to one run: values as constants, parameterised facts as functions. */
export function runtimeFacts(facts: FactSource): Record<string, unknown> {
  const values: Record<string, unknown> = {
    customerId: facts.customerId,
    attributes: facts.attributes,
    context: facts.context,
    touchpointTypes: facts.touchpointTypes,
    channels: facts.channels,
    touchpointCount: (params: Parameters<FactSource['touchpointCount']>[0]) => facts.touchpointCount(params ?? {}),
    daysSinceLastTouchpoint: (params: Parameters<FactSource['daysSinceLastTouchpoint']>[0]) =>
      facts.daysSinceLastTouchpoint(params ?? {}),
    outcomeCount: (params: Parameters<FactSource['outcomeCount']>[0]) => facts.outcomeCount(params ?? {}),
    bucket: (params: Parameters<FactSource['bucket']>[0]) => facts.bucket(params),
  };
  // Stage rules run before the stage is known; validation keeps them off these facts.
  if (facts.stage !== undefined) {
    values.stage = facts.stage;
    values.stageIndex = facts.stageIndex;
  }
  return values;
}
