/**
 * The facts a condition may name (contract section 4): their parameters, and
 * whether their value is an object a `path` can read into.
 */
import * as z from 'zod';
import { itemIdSchema, slugSchema } from '../domain/ids.js';
import { outcomeKindSchema } from '../domain/outcome.js';

const slugOrList = z.union([slugSchema, z.array(slugSchema).min(1, 'needs at least one slug')]);
const withinDays = z.number().positive('must be a positive number of days').optional();

export const touchpointFilterSchema = z.strictObject({
  type: slugOrList.optional(),
  channel: slugOrList.optional(),
});

export const touchpointCountParamsSchema = touchpointFilterSchema.extend({ withinDays });
export type TouchpointCountParams = z.infer<typeof touchpointCountParamsSchema>;
export type TouchpointFilterParams = z.infer<typeof touchpointFilterSchema>;

/**
 * Which of the customer's outcomes to count. Item ids must be in the catalog
 * and placements defined, which src/ruleset checks once every file is read.
 */
export const outcomeCountParamsSchema = z.strictObject({
  // The list first: zod tells a bad kind in a list apart from a bad single kind only this way round (src/ruleset/zod-issues.ts).
  kind: z.union([z.array(outcomeKindSchema).min(1, 'needs at least one kind'), outcomeKindSchema]).optional(),
  item: z.union([itemIdSchema, z.array(itemIdSchema).min(1, 'needs at least one item id')]).optional(),
  placement: slugOrList.optional(),
  withinDays,
});
export type OutcomeCountParams = z.infer<typeof outcomeCountParamsSchema>;

export const bucketParamsSchema = z.strictObject({
  salt: z.string().min(1, 'must not be empty').max(256),
});
export type BucketParams = z.infer<typeof bucketParamsSchema>;

export interface FactSpec {
  /** Parameters it takes; undefined: none. */
  params?: z.ZodType;
  paramsRequired?: boolean;
  /** Whether its value is an object or array that `path` can read into. */
  hasProperties: boolean;
  /** Stage rules decide the stage, so they cannot depend on it. */
  usableInStageRules: boolean;
  description: string;
}

export const FACTS = {
  customerId: { hasProperties: false, usableInStageRules: true, description: 'the customer id (string)' },
  stage: { hasProperties: false, usableInStageRules: false, description: 'the current stage (string)' },
  stageIndex: {
    hasProperties: false,
    usableInStageRules: false,
    description: "the current stage's position in the stage list, from 0",
  },
  attributes: { hasProperties: true, usableInStageRules: true, description: 'the profile attributes (use path)' },
  context: { hasProperties: true, usableInStageRules: true, description: "the request's context object (use path)" },
  touchpointCount: {
    params: touchpointCountParamsSchema,
    hasProperties: false,
    usableInStageRules: true,
    description: 'number of touchpoints matching type, channel, withinDays',
  },
  daysSinceLastTouchpoint: {
    params: touchpointFilterSchema,
    hasProperties: false,
    usableInStageRules: true,
    description: 'days since the newest touchpoint matching type and channel; null when none',
  },
  touchpointTypes: { hasProperties: true, usableInStageRules: true, description: 'distinct touchpoint types seen' },
  channels: { hasProperties: true, usableInStageRules: true, description: 'distinct channels seen' },
  outcomeCount: {
    params: outcomeCountParamsSchema,
    hasProperties: false,
    usableInStageRules: true,
    description: "number of the customer's outcomes matching kind, item, placement, withinDays",
  },
  bucket: {
    params: bucketParamsSchema,
    paramsRequired: true,
    hasProperties: false,
    usableInStageRules: true,
    description: 'a stable number 0-99 from the customer id and salt',
  },
} as const satisfies Record<string, FactSpec>;

export type FactName = keyof typeof FACTS;
export const FACT_NAMES = Object.keys(FACTS) as FactName[];

export function isFactName(name: string): name is FactName {
  return Object.prototype.hasOwnProperty.call(FACTS, name);
}

export function factSpec(name: FactName): FactSpec {
  return FACTS[name];
}
