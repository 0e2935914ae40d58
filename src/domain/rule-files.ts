/**
 * The shapes of the rule files in RULES_DIR (contract section 4). These zod
 * schemas check structure only; what a name refers to (facts, operators,
 * stages, segments, items) is checked by src/ruleset once every file is read.
 */
import * as z from 'zod';
import { slugSchema } from './ids.js';

export const DEFAULT_STAGES = ['awareness', 'consideration', 'purchase', 'retention', 'advocacy'] as const;

const name = z.string().min(1, 'must not be empty').max(128, 'must be at most 128 characters');
const description = z.string().max(2000).optional();
const schemaRef = z.string().optional();

/** An ISO-8601 date-time with offset, or a plain date (midnight UTC). */
export const ruleDateSchema = z.union(
  [z.iso.datetime({ offset: true }), z.iso.date()],
  { error: 'must be an ISO-8601 date-time with an offset (2026-12-01T00:00:00Z) or a date (2026-12-01)' },
);

export const itemIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9._:@-]{1,128}$/, 'must be 1-128 characters of A-Z a-z 0-9 . _ : @ -');

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

export const factConditionSchema = z.strictObject({
  fact: z.string().min(1, 'must not be empty'),
  operator: z.string().min(1, 'must not be empty'),
  value: z.unknown(),
  path: z.string().optional(),
  params: z.record(z.string(), z.unknown()).optional(),
  name: z.string().optional(),
});

/**
 * The branches of a condition, in the order the error formatter relies on
 * (src/ruleset/zod-issues.ts picks the branch by the key the author used).
 */
export const CONDITION_BRANCH_KEYS = ['all', 'any', 'not', 'condition', 'fact'] as const;

export const conditionSchema: z.ZodType<Condition> = z.lazy(() =>
  z.union([
    z.strictObject({ all: z.array(conditionSchema), name: z.string().optional() }),
    z.strictObject({ any: z.array(conditionSchema).min(1, 'needs at least one condition'), name: z.string().optional() }),
    z.strictObject({ not: conditionSchema, name: z.string().optional() }),
    z.strictObject({ condition: z.string().min(1), name: z.string().optional() }),
    factConditionSchema,
  ]),
);

/** json-rules-engine requires a boolean operator or a reference at the root of a rule's conditions. */
export const rootConditionSchema: z.ZodType<BooleanCondition> = z.union([
  z.strictObject({ all: z.array(conditionSchema), name: z.string().optional() }),
  z.strictObject({ any: z.array(conditionSchema).min(1, 'needs at least one condition'), name: z.string().optional() }),
  z.strictObject({ not: conditionSchema, name: z.string().optional() }),
  z.strictObject({ condition: z.string().min(1), name: z.string().optional() }),
]);

const priority = z.int('must be a whole number').min(1, 'must be at least 1').default(1);

export const stageRuleSchema = z.strictObject({
  name,
  description,
  priority,
  conditions: rootConditionSchema,
  event: z.strictObject({
    type: z.literal('stage'),
    params: z.strictObject({ stage: z.string() }),
  }),
});
export type StageRuleSpec = z.infer<typeof stageRuleSchema>;

export const journeyFileSchema = z.strictObject({
  $schema: schemaRef,
  description,
  stages: z.array(slugSchema).min(1, 'needs at least one stage').default([...DEFAULT_STAGES]),
  rules: z.array(stageRuleSchema).default([]),
});
export type JourneyFile = z.infer<typeof journeyFileSchema>;

/** Item fields the service adds to served items, so the catalog may not define them. */
export const RESERVED_ITEM_FIELDS = ['rule'] as const;

export const catalogItemSchema = z.looseObject({
  id: itemIdSchema,
  kind: z.enum(['content', 'offer']),
  channels: z.array(slugSchema).optional(),
  activeFrom: ruleDateSchema.optional(),
  activeUntil: ruleDateSchema.optional(),
});
export type CatalogItemSpec = z.infer<typeof catalogItemSchema>;

export const catalogFileSchema = z.strictObject({
  $schema: schemaRef,
  description,
  items: z.array(catalogItemSchema),
});
export type CatalogFile = z.infer<typeof catalogFileSchema>;

export const segmentNameSchema = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/, 'must start with a letter, then up to 63 of A-Z a-z 0-9 _ . -');

export const segmentsFileSchema = z.strictObject({
  $schema: schemaRef,
  description,
  segments: z.record(z.string(), rootConditionSchema),
});
export type SegmentsFile = z.infer<typeof segmentsFileSchema>;

export const decisionRuleSchema = z.strictObject({
  name,
  description,
  priority,
  enabled: z.boolean().default(true),
  activeFrom: ruleDateSchema.optional(),
  activeUntil: ruleDateSchema.optional(),
  conditions: rootConditionSchema,
  event: z.strictObject({
    type: z.literal('serve'),
    params: z.strictObject({ items: z.array(z.string()).min(1, 'needs at least one item') }),
  }),
});
export type DecisionRuleSpec = z.infer<typeof decisionRuleSchema>;

export const MAX_ITEMS_LIMIT = 50;

export const placementFileSchema = z.strictObject({
  $schema: schemaRef,
  description,
  placement: slugSchema,
  maxItems: z.int('must be a whole number').min(1).max(MAX_ITEMS_LIMIT).default(1),
  fallback: z.array(z.string()).default([]),
  rules: z.array(decisionRuleSchema),
});
export type PlacementFile = z.infer<typeof placementFileSchema>;

/** A problem in a rule file, located by file (relative to the rules folder) and JSON path. */
export interface RuleError {
  file: string;
  path: string;
  message: string;
}
