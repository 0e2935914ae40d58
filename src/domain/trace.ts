/**
 * What `explain: true` adds to a decision: why each rule did or did not serve.
 * The zod schemas are the one definition: the types are derived from them, and
 * the OpenAPI document is generated from them. Nothing parses a trace with them.
 */
import * as z from 'zod';
import { jsonObjectSchema, jsonValueSchema, timestampSchema } from './json.js';
import { outcomeKindSchema } from './outcome.js';
import { stageSourceSchema } from './profile.js';
import { CAP_SCOPES } from './rule-files.js';

/**
 * The trace of a condition tree, written by hand because it is recursive (a
 * type cannot be inferred from a schema that refers to itself);
 * `conditionTraceSchema` is checked against it.
 *
 * A fact condition's values are `unknown` here, though the schema documents
 * them as JSON (all a fact can hold): the evaluator that writes the trace reads
 * facts without a static type.
 */
export type ConditionTrace =
  | { all: ConditionTrace[]; result: boolean }
  | { any: ConditionTrace[]; result: boolean }
  | { not: ConditionTrace; result: boolean }
  /** A segment reference, with the segment's own condition traced inside. */
  | { condition: string; result: boolean; conditions: ConditionTrace }
  | FactConditionTrace;

export interface FactConditionTrace {
  fact: string;
  params?: Record<string, unknown>;
  path?: string;
  operator: string;
  /** The value compared with, as written in the rule. */
  value: unknown;
  /** What a fact reference in `value` resolved to. */
  valueResult?: unknown;
  /** The fact's value (after `path`); absent when the fact has none there. */
  factValue?: unknown;
  result: boolean;
}

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

/**
 * What happened to an item a rule (or the fallback) offered: served, or why not.
 * The item's own reason (`duplicate`, `inactive`, `channel`, `capped`) comes
 * first; `over-max-items` only for an item that would have been served but the
 * placement was already full.
 */
export const itemOutcomeSchema = z
  .enum(['served', 'duplicate', 'inactive', 'channel', 'capped', 'over-max-items'])
  .meta({
    description:
      'served, or why not: already served, not active now, not for this channel, capped (see cap and count); over-max-items only for an item that would otherwise have been served when the placement was full.',
  });
export type ItemOutcome = z.output<typeof itemOutcomeSchema>;

export const capTraceSchema = z
  .object({
    kind: outcomeKindSchema,
    max: z.int().min(1),
    withinDays: z.number().optional().meta({ description: 'Absent: every outcome ever counts.' }),
    scope: z.enum(CAP_SCOPES),
  })
  .meta({ description: 'The cap of the catalog item that was reached.' });
export type CapTrace = z.output<typeof capTraceSchema>;

export const itemTraceSchema = z.object({
  id: z.string(),
  outcome: itemOutcomeSchema,
  cap: capTraceSchema.optional().meta({ description: 'For a capped item: the cap reached.' }),
  count: z
    .int()
    .min(0)
    .optional()
    .meta({ description: "For a capped item: the outcomes counted for the cap (this customer's, or everyone's for scope all)." }),
  score: z
    .number()
    .optional()
    .meta({ description: 'In an optimized ranking: the goal rate sampled for the item, by which eligible items were ordered.' }),
});
export type ItemTrace = z.output<typeof itemTraceSchema>;

export const ruleOutcomeSchema = z.enum(['matched', 'not-matched', 'disabled', 'inactive']);
export type RuleOutcome = z.output<typeof ruleOutcomeSchema>;

export const ruleTraceSchema = z.object({
  name: z.string(),
  priority: z.int(),
  outcome: ruleOutcomeSchema,
  activeFrom: timestampSchema.optional().meta({ description: 'The activity window of an inactive rule.' }),
  activeUntil: timestampSchema.optional(),
  conditions: conditionTraceSchema.optional().meta({ description: 'Absent for rules skipped without evaluation (disabled, inactive).' }),
  items: z.array(itemTraceSchema).optional().meta({ description: 'For matched rules: each listed item and what became of it.' }),
});
export type RuleTrace = z.output<typeof ruleTraceSchema>;

export const stageRuleTraceSchema = z.object({
  name: z.string(),
  priority: z.int(),
  stage: z.string(),
  outcome: z.enum(['matched', 'not-matched']),
  conditions: conditionTraceSchema,
});
export type StageRuleTrace = z.output<typeof stageRuleTraceSchema>;

export const stageTraceSchema = z.object({
  stage: z.string(),
  source: stageSourceSchema,
  rule: z.string().nullable().meta({ description: 'The rule that decided an inferred stage.' }),
  rules: z.array(stageRuleTraceSchema).meta({ description: 'Every stage rule, highest priority first; empty when the stage was set explicitly.' }),
});
export type StageTrace = z.output<typeof stageTraceSchema>;
