/**
 * The shapes of the service's answers, as zod schemas. The routes build their
 * answers from the TypeScript interfaces beside each concept (ProfileView,
 * Decision, the traces); these schemas describe the same answers for the
 * OpenAPI document, and test/http/openapi.test.ts holds them to what the
 * routes really send. Nothing parses a response with them.
 *
 * Objects are plain `z.object`s: the document publishes them open ("at
 * least these fields", contract section 5); the test checks them closed.
 */
import * as z from 'zod';
import { CUSTOMER_ID_PATTERN } from './ids.js';
import type { ConditionTrace } from './trace.js';

/** Any JSON value: attributes, context, touchpoint properties, catalog fields, traced values. */
export const jsonValueSchema = z.json();

const jsonObjectSchema = z.record(z.string(), jsonValueSchema);

const timestampSchema = z.iso.datetime().meta({ description: 'An ISO-8601 date-time in UTC.', examples: ['2026-03-01T12:00:00.000Z'] });

const customerIdField = z.string().regex(CUSTOMER_ID_PATTERN).meta({ examples: ['c-42'] });

const stageSourceSchema = z
  .enum(['explicit', 'inferred', 'default'])
  .meta({ description: 'explicit: set through PATCH; inferred: by a stage rule of journey.json; default: the first stage.' });

// ---- errors ---------------------------------------------------------------

export const fieldErrorSchema = z
  .object({
    path: z.string().meta({ description: 'The JSON path of the field at fault.', examples: ['$.touchpoints[3].at'] }),
    message: z.string().meta({ examples: ['is more than 5 minutes in the future'] }),
  })
  .meta({ description: 'One problem with one field of the request.' });

export const problemSchema = z
  .looseObject({
    type: z.string().meta({ description: 'The problem type, a URI reference.', examples: ['/problems/validation-error'] }),
    title: z.string().meta({ examples: ['Invalid request'] }),
    status: z.int().min(100).max(599).meta({ description: 'The HTTP status code, repeated.', examples: [400] }),
    detail: z.string().meta({ examples: ['$.touchpoints[3].at: is more than 5 minutes in the future'] }),
    errors: z.array(fieldErrorSchema).optional().meta({ description: 'For validation failures: every field at fault.' }),
  })
  .meta({ description: 'An RFC 9457 problem. Other members may be added as extensions.' });

export const notReadyProblemSchema = z
  .intersection(
    problemSchema,
    z.object({
      checks: z
        .object({
          rules: z.enum(['ok', 'not loaded']),
          store: z.string().meta({ description: '"ok", or why the profile store did not answer.' }),
        })
        .meta({ description: 'What is and is not ready.' }),
    }),
  )
  .meta({ description: 'An RFC 9457 problem saying what is not ready yet.' });

// ---- health ---------------------------------------------------------------

export const healthSchema = z.object({ status: z.literal('ok') });

export const readySchema = z.object({
  status: z.literal('ready'),
  rulesVersion: z.string().meta({ description: 'The version of the loaded rules.' }),
  store: z.literal('ok'),
});

// ---- customers ------------------------------------------------------------

export const appendResultSchema = z.object({
  accepted: z.int().min(0).meta({ description: 'Touchpoints newly stored.' }),
  duplicates: z.int().min(0).meta({ description: 'Touchpoints skipped: one with the same id was already stored for the customer.' }),
  expired: z.int().min(0).meta({
    description: 'Touchpoints not stored because they were already older than the retention window (TOUCHPOINT_RETENTION_DAYS); not counted in accepted.',
  }),
});

export const touchpointViewSchema = z.object({
  id: z.string().optional().meta({ description: 'The id it was sent with, if any.' }),
  type: z.string(),
  channel: z.string(),
  at: timestampSchema,
  properties: jsonObjectSchema.optional(),
});

export const profileViewSchema = z.object({
  customerId: customerIdField,
  stage: z.string().meta({ description: 'The current stage.', examples: ['consideration'] }),
  stageSource: stageSourceSchema,
  explicitStage: z.string().nullable().meta({ description: 'The stage set through PATCH, or null.' }),
  attributes: jsonObjectSchema,
  touchpointCount: z.int().min(0),
  touchpoints: z.array(touchpointViewSchema).meta({ description: 'Newest first.' }),
  createdAt: timestampSchema,
  updatedAt: timestampSchema,
});

// ---- decisions ------------------------------------------------------------

export const factConditionTraceSchema = z
  .object({
    fact: z.string(),
    params: jsonObjectSchema.optional(),
    path: z.string().optional(),
    operator: z.string(),
    value: jsonValueSchema.meta({ description: 'The value compared with, as written in the rule.' }),
    valueResult: jsonValueSchema.optional().meta({ description: 'What a fact reference in `value` resolved to.' }),
    factValue: jsonValueSchema.optional().meta({ description: "The fact's value (after `path`); absent when the fact has none there." }),
    result: z.boolean(),
  })
  .meta({ description: 'One fact compared by one operator.' });

export const allConditionTraceSchema = z
  .object({
    get all() {
      return z.array(conditionTraceSchema);
    },
    result: z.boolean().meta({ description: 'Whether every sub-condition holds.' }),
  })
  .meta({ description: 'An `all` condition, each sub-condition traced.' });

export const anyConditionTraceSchema = z
  .object({
    get any() {
      return z.array(conditionTraceSchema);
    },
    result: z.boolean().meta({ description: 'Whether any sub-condition holds.' }),
  })
  .meta({ description: 'An `any` condition, each sub-condition traced.' });

export const notConditionTraceSchema = z
  .object({
    get not() {
      return conditionTraceSchema;
    },
    result: z.boolean(),
  })
  .meta({ description: 'A `not` condition, its sub-condition traced.' });

export const segmentConditionTraceSchema = z
  .object({
    condition: z.string().meta({ description: 'The segment named.' }),
    result: z.boolean(),
    get conditions() {
      return conditionTraceSchema;
    },
  })
  .meta({ description: "A reference to a segment of segments.json, with the segment's own condition traced in `conditions`." });

/** The trace of a condition tree: all / any / not / a segment reference / a fact condition, each with its result. */
export const conditionTraceSchema: z.ZodType<ConditionTrace> = z.union([
  allConditionTraceSchema,
  anyConditionTraceSchema,
  notConditionTraceSchema,
  segmentConditionTraceSchema,
  factConditionTraceSchema,
]);

export const itemTraceSchema = z.object({
  id: z.string(),
  outcome: z
    .enum(['served', 'duplicate', 'inactive', 'channel', 'over-max-items'])
    .meta({
      description:
        'served, or why not: already served, not active now, not for this channel; over-max-items only for an item that would otherwise have been served when the placement was full.',
    }),
});

export const ruleTraceSchema = z.object({
  name: z.string(),
  priority: z.int(),
  outcome: z.enum(['matched', 'not-matched', 'disabled', 'inactive']),
  activeFrom: timestampSchema.optional().meta({ description: 'The activity window of an inactive rule.' }),
  activeUntil: timestampSchema.optional(),
  conditions: conditionTraceSchema.optional().meta({ description: 'Absent for rules skipped without evaluation (disabled, inactive).' }),
  items: z.array(itemTraceSchema).optional().meta({ description: 'For matched rules: each listed item and what became of it.' }),
});

export const stageRuleTraceSchema = z.object({
  name: z.string(),
  priority: z.int(),
  stage: z.string(),
  outcome: z.enum(['matched', 'not-matched']),
  conditions: conditionTraceSchema,
});

export const stageTraceSchema = z.object({
  stage: z.string(),
  source: stageSourceSchema,
  rule: z.string().nullable().meta({ description: 'The rule that decided an inferred stage.' }),
  rules: z.array(stageRuleTraceSchema).meta({ description: 'Every stage rule, highest priority first; empty when the stage was set explicitly.' }),
});

export const servedItemSchema = z
  .object({
    id: z.string().meta({ examples: ['hero-cart'] }),
    kind: z.enum(['content', 'offer']),
    rule: z.string().nullable().meta({ description: 'The rule that served the item; null for a fallback item.', examples: ['cart-abandoners'] }),
  })
  .catchall(jsonValueSchema)
  .meta({ description: 'A catalog item as served: every field of the catalog entry (title, url, code, ...), and the rule that served it.' });

export const placementDecisionSchema = z.object({
  items: z.array(servedItemSchema),
  fallback: z.boolean().meta({ description: "Whether the items are the placement's fallback (no rule served any)." }),
  trace: z.array(ruleTraceSchema).optional().meta({ description: 'With explain: every rule of the placement in arbitration order, matched or not, and why.' }),
  fallbackTrace: z.array(itemTraceSchema).optional().meta({ description: 'With explain, when the placement fell back: each fallback item and what became of it.' }),
});

export const decisionSchema = z.object({
  decisionId: z.string().meta({ description: 'Unique to this decision, for logs and analytics.' }),
  customerId: customerIdField,
  stage: z.string().meta({ examples: ['consideration'] }),
  stageSource: stageSourceSchema,
  rulesVersion: z.string().meta({ description: 'Changes whenever the loaded rules change.' }),
  placements: z.record(z.string(), placementDecisionSchema).meta({ description: 'One entry per requested placement.' }),
  stageTrace: stageTraceSchema.optional().meta({ description: 'With explain: how the stage was decided.' }),
  degraded: z
    .boolean()
    .optional()
    .meta({
      description:
        'Present (true) when the profile could not be read (the store is unavailable, or the stored data is unreadable) and the customer was decided as a new visitor; absent otherwise. Such an answer also carries the header X-Nextbest-Degraded: store-unavailable or profile-unreadable.',
    }),
});

export const batchDecisionResultsSchema = z.object({
  results: z
    .array(z.union([decisionSchema, problemSchema]))
    .meta({ description: 'One per request, in request order: a decision, or the problem that request had.' }),
});

// ---- rules ----------------------------------------------------------------

export const ruleErrorSchema = z.object({
  file: z.string().meta({ examples: ['placements/home-hero.json'] }),
  path: z.string().meta({ examples: ['$.rules[0].conditions.all[0].fact'] }),
  message: z.string(),
});

export const rulesStatusSchema = z.object({
  version: z.string().nullable().meta({ description: 'The version of the rules serving; null before the first good load.' }),
  loadedAt: timestampSchema.nullable().meta({ description: 'When the rules serving were loaded.' }),
  placements: z.array(z.string()).meta({ description: 'The placements the rules define.' }),
  errors: z.array(ruleErrorSchema).meta({ description: 'The errors of the latest failed load; empty after a good one.' }),
  warnings: z.array(ruleErrorSchema).meta({ description: 'Warnings of the latest good load.' }),
  reloads: z.object({ success: z.int().min(0), failure: z.int().min(0) }).meta({ description: 'Loads since start-up, by result.' }),
});

export type ProblemAnswer = z.infer<typeof problemSchema>;
export type ConditionTraceAnswer = z.infer<typeof conditionTraceSchema>;
export type DecisionAnswer = z.infer<typeof decisionSchema>;
export type ProfileViewAnswer = z.infer<typeof profileViewSchema>;
export type RulesStatusAnswer = z.infer<typeof rulesStatusSchema>;
