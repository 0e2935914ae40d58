/**
 * JSON Schemas of the rule files, generated from the zod schemas in
 * src/domain so they cannot disagree with the loader. They are for editors:
 * a rule file that names one in "$schema" gets completion, hovers and inline
 * errors while it is typed. The loader never reads them; its own checks
 * (src/ruleset/build.ts) stay the authority and give the better messages.
 *
 * The JSON Schemas are stricter than the zod schemas in one way: what zod
 * leaves to src/ruleset (fact names, operator names, a fact's params and
 * path, segment names) is spelled out here, so an editor can flag it too.
 */
import * as z from 'zod';
import {
  catalogFileSchema,
  factConditionSchema,
  journeyFileSchema,
  placementFileSchema,
  segmentNameSchema,
  segmentsFileSchema,
} from '../domain/rule-files.js';
import { ruleTestFileSchema } from '../domain/rule-tests.js';
import { FACT_NAMES, factSpec } from '../conditions/fact-catalog.js';
import { BASE_OPERATOR_NAMES, DECORATOR_NAMES } from '../conditions/operators.js';

export const RULE_FILE_SCHEMA_KINDS = ['journey', 'catalog', 'segments', 'placement', 'rule-test'] as const;
export type RuleFileSchemaKind = (typeof RULE_FILE_SCHEMA_KINDS)[number];

export type JsonSchema = Record<string, unknown>;

/** The file a kind's schema is written to, in the `schemas/` folder next to the rules. */
export function ruleFileSchemaName(kind: RuleFileSchemaKind): string {
  return `${kind}.schema.json`;
}

/** Any base operator after any number of decorators: "greaterThan", "not:someFact:in". */
export const OPERATOR_PATTERN = `^((${DECORATOR_NAMES.join('|')}):)*(${BASE_OPERATOR_NAMES.join('|')})$`;

const OPERATOR_EXAMPLES = [
  ...BASE_OPERATOR_NAMES,
  'not:equal',
  'not:in',
  'someFact:in',
  'everyFact:in',
  'someValue:contains',
  'everyValue:contains',
  'swap:in',
];

export function ruleFileJsonSchemas(): Record<RuleFileSchemaKind, JsonSchema> {
  return {
    journey: toRuleFileJsonSchema('journey', journeyFileSchema),
    catalog: toRuleFileJsonSchema('catalog', catalogFileSchema),
    segments: toRuleFileJsonSchema('segments', segmentsFileSchema),
    placement: toRuleFileJsonSchema('placement', placementFileSchema),
    'rule-test': toRuleFileJsonSchema('rule-test', ruleTestFileSchema),
  };
}

function toRuleFileJsonSchema(kind: RuleFileSchemaKind, schema: z.ZodType): JsonSchema {
  const { $schema, title, description, ...rest } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    // The files are input: a field with a default may be left out.
    io: 'input',
    cycles: 'ref',
    unrepresentable: 'throw',
    override: ({ zodSchema, jsonSchema }) => refine(zodSchema, jsonSchema as JsonSchema),
  }) as JsonSchema;
  // A relative $id: the schemas are shipped and copied as files, never served from a URL.
  return { $schema, $id: ruleFileSchemaName(kind), title: title ?? `nextbest ${kind} file`, description, ...rest };
}

/** Spells out in the JSON Schema what the loader checks after zod. */
function refine(zodSchema: unknown, json: JsonSchema): void {
  // z.int() bounds itself to safe integers; in an editor that is only noise.
  if (json.maximum === Number.MAX_SAFE_INTEGER) delete json.maximum;
  if (json.minimum === Number.MIN_SAFE_INTEGER) delete json.minimum;

  if (zodSchema === factConditionSchema.shape.fact) {
    delete json.minLength;
    json.enum = [...FACT_NAMES];
    // VS Code shows these next to each completion; other editors ignore the keyword.
    json.enumDescriptions = FACT_NAMES.map((fact) => factSpec(fact).description);
  } else if (zodSchema === factConditionSchema.shape.operator) {
    delete json.minLength;
    json.pattern = OPERATOR_PATTERN;
    // VS Code's message for a failed pattern, instead of the pattern itself.
    json.patternErrorMessage = `Unknown operator. Use ${BASE_OPERATOR_NAMES.join(', ')}, optionally after decorators ${DECORATOR_NAMES.map((d) => `${d}:`).join(' ')}`;
    json.examples = OPERATOR_EXAMPLES;
  } else if (zodSchema === factConditionSchema) {
    json.allOf = FACT_NAMES.map(factRules);
  } else if (zodSchema === segmentsFileSchema.shape.segments) {
    json.propertyNames = bareJsonSchema(segmentNameSchema);
  }
}

/** What one fact allows for `params` and `path`, as an if/then on the fact's name. */
function factRules(fact: (typeof FACT_NAMES)[number]): JsonSchema {
  const spec = factSpec(fact);
  const then: JsonSchema = {
    properties: {
      params: spec.params ? { ...bareJsonSchema(spec.params), description: `Params of ${fact}: ${spec.description}.` } : false,
      ...(spec.hasProperties ? {} : { path: false }),
    },
  };
  if (spec.paramsRequired) then.required = ['params'];
  return { if: { properties: { fact: { const: fact } }, required: ['fact'] }, then };
}

function bareJsonSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input' }) as JsonSchema;
  return rest;
}
