/**
 * The shapes of the rule files in RULES_DIR (contract section 4). These zod
 * schemas check structure only; what a name refers to (facts, operators,
 * stages, segments, items) is checked by src/ruleset once every file is read.
 */
import * as z from 'zod';
import { itemIdSchema, slugSchema } from './ids.js';
import { outcomeKindSchema } from './outcome.js';
import { OPTIMIZE_GOALS } from './report.js';

export const DEFAULT_STAGES = ['awareness', 'consideration', 'purchase', 'retention', 'advocacy'] as const;

const name = z
  .string()
  .min(1, 'must not be empty')
  .max(128, 'must be at most 128 characters')
  .meta({ description: 'Unique within the file; a decision reports it as the `rule` that served an item.' });
const description = z
  .string()
  .max(2000)
  .optional()
  .meta({ description: 'Free text for the people reading the rules; the service ignores it.' });
const schemaRef = z
  .string()
  .optional()
  .meta({ description: 'The JSON Schema editors check this file against; the service ignores it.' });

/** An ISO-8601 date-time with offset, or a plain date (midnight UTC). */
export const ruleDateSchema = z
  .union([z.iso.datetime({ offset: true }), z.iso.date()], {
    error: 'must be an ISO-8601 date-time with an offset (2026-12-01T00:00:00Z) or a date (2026-12-01)',
  })
  .meta({
    description: 'An ISO-8601 date-time with an offset, or a date meaning midnight UTC.',
    examples: ['2026-12-01T00:00:00-05:00', '2026-12-01'],
  });

export { itemIdSchema };

export interface FactCondition {
  fact: string;
  operator: string;
  value: unknown;
  path?: string;
  params?: Record<string, unknown>;
  name?: string;
}
export interface AllCondition {
  all: Condition[];
  name?: string;
}
export interface AnyCondition {
  any: Condition[];
  name?: string;
}
export interface NotCondition {
  not: Condition;
  name?: string;
}
export interface ConditionReference {
  condition: string;
  name?: string;
}
export type BooleanCondition = AllCondition | AnyCondition | NotCondition | ConditionReference;
export type Condition = BooleanCondition | FactCondition;

const conditionName = z
  .string()
  .optional()
  .meta({ description: "A label for the condition, for the people reading the rules (json-rules-engine's condition name)." });

export const factConditionSchema = z
  .strictObject({
    fact: z.string().min(1, 'must not be empty').meta({ description: 'The fact to read.' }),
    operator: z
      .string()
      .min(1, 'must not be empty')
      .meta({
        description:
          'How the fact compares with the value: an operator, optionally after decorators (not:, someFact:, someValue:, everyFact:, everyValue:, swap:), e.g. "not:someFact:in".',
      }),
    value: z.unknown().meta({
      description: 'What the fact is compared with: a JSON value, or another fact as { "fact", "path"?, "params"? }.',
    }),
    path: z
      .string()
      .optional()
      .meta({ description: "Reads into the fact's value by plain property access: $.tier, $.address.country, $.list[0]." }),
    params: z.record(z.string(), z.unknown()).optional().meta({ description: "The fact's parameters, if it takes any." }),
    name: conditionName,
  })
  .meta({ id: 'factCondition', description: "Compares a fact's value with a value: { fact, operator, value, path?, params? }." });

/**
 * The branches of a condition, in the order the error formatter relies on
 * (src/ruleset/zod-issues.ts picks the branch by the key the author used).
 */
export const CONDITION_BRANCH_KEYS = ['all', 'any', 'not', 'condition', 'fact'] as const;

const ALL_DESCRIPTION = 'Holds when every condition in the list holds ("all": [] always holds).';
const ANY_DESCRIPTION = 'Holds when at least one condition in the list holds.';
const NOT_DESCRIPTION = '{ "not": condition } holds when that one condition does not hold.';
const REFERENCE_DESCRIPTION = 'The name of a segment in segments.json; holds when its condition holds.';

export const conditionSchema: z.ZodType<Condition> = z
  .lazy(() =>
    z.union([
      z.strictObject({ all: z.array(conditionSchema).meta({ description: ALL_DESCRIPTION }), name: conditionName }),
      z.strictObject({
        any: z.array(conditionSchema).min(1, 'needs at least one condition').meta({ description: ANY_DESCRIPTION }),
        name: conditionName,
      }),
      z.strictObject({ not: conditionSchema, name: conditionName }).meta({ description: NOT_DESCRIPTION }),
      z.strictObject({ condition: z.string().min(1).meta({ description: REFERENCE_DESCRIPTION }), name: conditionName }),
      factConditionSchema,
    ]),
  )
  .meta({
    id: 'condition',
    description: 'all / any / not of conditions, a segment reference { "condition": name }, or a fact condition { fact, operator, value }.',
  });

/** json-rules-engine requires a boolean operator or a reference at the root of a rule's conditions. */
export const rootConditionSchema: z.ZodType<BooleanCondition> = z
  .union([
    z.strictObject({ all: z.array(conditionSchema).meta({ description: ALL_DESCRIPTION }), name: conditionName }),
    z.strictObject({
      any: z.array(conditionSchema).min(1, 'needs at least one condition').meta({ description: ANY_DESCRIPTION }),
      name: conditionName,
    }),
    z.strictObject({ not: conditionSchema, name: conditionName }).meta({ description: NOT_DESCRIPTION }),
    z.strictObject({ condition: z.string().min(1).meta({ description: REFERENCE_DESCRIPTION }), name: conditionName }),
  ])
  .meta({
    id: 'rootCondition',
    description:
      'all / any / not of conditions, or a segment reference { "condition": name }. A single fact condition goes inside an "all".',
  });

const priority = z
  .int('must be a whole number')
  .min(1, 'must be at least 1')
  .default(1)
  .meta({ description: 'A whole number from 1 (the default); higher goes first, ties go in file order.' });

export const stageRuleSchema = z
  .strictObject({
    name,
    description,
    priority,
    conditions: rootConditionSchema,
    event: z
      .strictObject({
        type: z.literal('stage'),
        params: z.strictObject({ stage: z.string().meta({ description: 'One of the stages listed in "stages".' }) }),
      })
      .meta({ description: 'Puts the customer in this stage: { "type": "stage", "params": { "stage": name } }.' }),
  })
  .meta({ description: "A stage rule: when its conditions hold, the customer is in its event's stage." });
export type StageRuleSpec = z.infer<typeof stageRuleSchema>;

export const journeyFileSchema = z
  .strictObject({
    $schema: schemaRef,
    description,
    stages: z
      .array(slugSchema)
      .min(1, 'needs at least one stage')
      .default([...DEFAULT_STAGES])
      .meta({ description: `The journey's stages in order, as slugs; a customer no rule matches is in the first. Default: ${DEFAULT_STAGES.join(', ')}.` }),
    rules: z
      .array(stageRuleSchema)
      .default([])
      .meta({ description: 'The rules that infer a stage; the highest-priority rule whose conditions hold wins.' }),
  })
  .meta({ title: 'nextbest journey.json', description: "The journey's stages, and the rules that infer a customer's stage." });
export type JourneyFile = z.infer<typeof journeyFileSchema>;

/** Item fields the service adds to served items, so the catalog may not define them. */
export const RESERVED_ITEM_FIELDS = ['rule'] as const;

export const CAP_SCOPES = ['customer', 'all'] as const;
export type CapScope = (typeof CAP_SCOPES)[number];

export const itemCapSchema = z
  .strictObject({
    kind: outcomeKindSchema.meta({ description: 'The outcomes counted: impression, click, conversion or dismiss.' }),
    max: z
      .int('must be a whole number')
      .min(1, 'must be at least 1')
      .meta({ description: 'The item is capped once the count reaches this.' }),
    withinDays: z
      .number()
      .positive('must be a positive number of days')
      .optional()
      .meta({ description: "Count only the outcomes of the last withinDays days (by their `at`); absent: every one ever." }),
    scope: z
      .enum(CAP_SCOPES)
      .optional()
      .meta({ description: 'customer (the default): this customer\'s outcomes; all: everyone\'s.' }),
  })
  .meta({
    description:
      'Stops serving the item once the outcomes of this kind for it, in any placement, reach max: { "kind": "conversion", "max": 1 } stops offering once taken, { "kind": "impression", "max": 3, "withinDays": 7 } is a frequency cap.',
  });
export type ItemCapSpec = z.infer<typeof itemCapSchema>;

export const catalogItemSchema = z
  .looseObject({
    id: itemIdSchema,
    kind: z.enum(['content', 'offer']).meta({ description: 'content or offer.' }),
    channels: z
      .array(slugSchema)
      .optional()
      .meta({ description: "Serve the item only on these channels when the request's context.channel is given." }),
    activeFrom: ruleDateSchema.optional().meta({ description: 'Serve the item from this time on (inclusive).' }),
    activeUntil: ruleDateSchema.optional().meta({ description: 'Serve the item until this time (exclusive).' }),
    caps: z
      .array(itemCapSchema)
      .optional()
      .meta({ description: 'Skip the item once any of these caps is reached, as an inactive item is skipped.' }),
  })
  .meta({ description: 'An item: id and kind, then any fields of your own (title, url, code, ...), served as is; "rule" is reserved.' });
export type CatalogItemSpec = z.infer<typeof catalogItemSchema>;

export const catalogFileSchema = z
  .strictObject({
    $schema: schemaRef,
    description,
    items: z.array(catalogItemSchema).meta({ description: 'Every item the placements can serve.' }),
  })
  .meta({ title: 'nextbest catalog.json', description: 'Every item that can be served: content and offers.' });
export type CatalogFile = z.infer<typeof catalogFileSchema>;

export const segmentNameSchema = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/, 'must start with a letter, then up to 63 of A-Z a-z 0-9 _ . -');

export const segmentsFileSchema = z
  .strictObject({
    $schema: schemaRef,
    description,
    segments: z
      .record(z.string(), rootConditionSchema)
      .meta({ description: 'Named conditions; a rule uses one as { "condition": "<name>" }. Segments may use each other, but not in a cycle.' }),
  })
  .meta({ title: 'nextbest segments.json', description: 'Named audiences shared by the rules.' });
export type SegmentsFile = z.infer<typeof segmentsFileSchema>;

export const decisionRuleSchema = z
  .strictObject({
    name,
    description,
    priority,
    enabled: z.boolean().default(true).meta({ description: 'false keeps the rule in the file but never serves it.' }),
    activeFrom: ruleDateSchema.optional().meta({ description: 'The rule serves from this time on (inclusive).' }),
    activeUntil: ruleDateSchema.optional().meta({ description: 'The rule serves until this time (exclusive).' }),
    conditions: rootConditionSchema,
    event: z
      .strictObject({
        type: z.literal('serve'),
        params: z.strictObject({
          items: z
            .array(z.string())
            .min(1, 'needs at least one item')
            .meta({ description: 'Ids of catalog.json items, in the order they are served.' }),
        }),
      })
      .meta({ description: 'Serves these items: { "type": "serve", "params": { "items": [id, ...] } }.' }),
  })
  .meta({ description: "A decision rule: when its conditions hold, its event's items are candidates for the placement." });
export type DecisionRuleSpec = z.infer<typeof decisionRuleSchema>;

export const MAX_ITEMS_LIMIT = 50;
export const DEFAULT_EXPLORE = 0.1;
export const MAX_EXPLORE = 0.5;

export const optimizeSchema = z
  .strictObject({
    goal: z
      .enum(OPTIMIZE_GOALS, { error: (issue) => (issue.input === undefined ? 'is required' : `must be one of ${OPTIMIZE_GOALS.join(', ')}`) })
      .meta({ description: 'The outcome to get more of: click or conversion, per impression.' }),
    explore: z
      .number()
      .min(0, 'must be from 0 to 0.5')
      .max(MAX_EXPLORE, 'must be from 0 to 0.5')
      .optional()
      .meta({ description: `The share of decisions kept in priority order, the control arm the gain is measured against: 0 to ${MAX_EXPLORE} (default ${DEFAULT_EXPLORE}).` }),
  })
  .meta({
    description:
      'Ranks the eligible items by what customers do with them (Thompson sampling on each item\'s goal rate over the last 30 days) instead of priority order, except for a share `explore` of decisions.',
  });
export type OptimizeSpec = z.infer<typeof optimizeSchema>;

export const placementFileSchema = z
  .strictObject({
    $schema: schemaRef,
    description,
    placement: slugSchema.meta({ description: 'The slug requests ask for this placement by.' }),
    maxItems: z
      .int('must be a whole number')
      .min(1)
      .max(MAX_ITEMS_LIMIT)
      .default(1)
      .meta({ description: `How many items the placement shows: 1 (the default) to ${MAX_ITEMS_LIMIT}.` }),
    fallback: z
      .array(z.string())
      .default([])
      .meta({ description: 'Ids of catalog.json items to serve when no rule serves anything.' }),
    rules: z
      .array(decisionRuleSchema)
      .meta({ description: 'Decision rules, taken highest priority first; their items fill the placement up to maxItems.' }),
    optimize: optimizeSchema.optional(),
  })
  .meta({ title: 'nextbest placement', description: 'One placement: the slot a request asks for, and the rules that fill it.' });
export type PlacementFile = z.infer<typeof placementFileSchema>;

/** A problem in a rule file, located by file (relative to the rules folder) and JSON path. */
export interface RuleError {
  file: string;
  path: string;
  message: string;
}
