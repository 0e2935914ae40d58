/**
 * Outcomes: what a customer did with what a decision served (contract
 * section 8). The zod schemas describe an outcome as a client sends it; the
 * stored form and the decision profile's columns are what caps and the
 * outcomeCount fact count.
 */
import * as z from 'zod';
import { customerIdSchema, itemIdSchema, slugSchema } from './ids.js';
import { eventAtSchema } from './touchpoint.js';

export const OUTCOME_KINDS = ['impression', 'click', 'conversion', 'dismiss'] as const;
export type OutcomeKind = (typeof OUTCOME_KINDS)[number];

export const outcomeKindSchema = z
  .enum(OUTCOME_KINDS, { error: (issue) => (issue.input === undefined ? 'is required' : `must be one of ${OUTCOME_KINDS.join(', ')}`) })
  .meta({ description: 'impression (shown), click, conversion (taken: bought, redeemed, signed up) or dismiss.', examples: ['click'] });

export const MAX_OUTCOMES_PER_REQUEST = 1000;
/** Decision ids are the service's own; the bound only keeps a forged one from being large. */
export const MAX_DECISION_ID_LENGTH = 512;

export const outcomeInputSchema = z
  .strictObject({
    decisionId: z
      .string()
      .min(1, 'must not be empty')
      .max(MAX_DECISION_ID_LENGTH)
      .meta({ description: 'The decisionId of the decision that served the item.' }),
    customerId: customerIdSchema.meta({ description: 'The customer the decision was for (or an alias of them).', examples: ['c-42'] }),
    placement: slugSchema.meta({ description: 'The placement the decision served the item in.', examples: ['home-hero'] }),
    item: itemIdSchema.meta({ description: 'The id of the item served.', examples: ['hero-cart'] }),
    kind: outcomeKindSchema,
    at: eventAtSchema.optional(),
    value: z.number().min(0, 'must be 0 or more').optional().meta({ description: "What it was worth, e.g. a conversion's order value.", examples: [59.9] }),
  })
  .meta({ description: 'What the customer did with an item a decision served.' });
export type OutcomeInput = z.output<typeof outcomeInputSchema>;

export const outcomeBatchSchema = z
  .strictObject({
    outcomes: z.array(outcomeInputSchema).min(1, 'needs at least one outcome').max(MAX_OUTCOMES_PER_REQUEST),
  })
  .meta({ description: `Up to ${MAX_OUTCOMES_PER_REQUEST} outcomes, stored together or not at all.` });
export type OutcomeBatch = z.output<typeof outcomeBatchSchema>;

export const outcomeAppendResultSchema = z.object({
  accepted: z.int().min(0).meta({ description: 'Outcomes newly stored.' }),
  duplicates: z.int().min(0).meta({ description: 'Outcomes skipped: one of the same kind for the same decision, placement and item was already stored.' }),
});

/** A stored outcome as the profile view shows it. */
export const outcomeViewSchema = z.object({
  decisionId: z.string(),
  placement: z.string(),
  item: z.string(),
  rule: z.string().nullable().meta({ description: 'The rule that served the item (from the decision id); null for a fallback item.' }),
  arm: z.enum(['optimized', 'priority']).nullable().meta({ description: "The placement's ranking arm in that decision; null when it had none." }),
  kind: z.enum(OUTCOME_KINDS),
  at: z.iso.datetime(),
  value: z.number().nullable(),
});
export type OutcomeView = z.output<typeof outcomeViewSchema>;

export function toOutcomeView(outcome: StoredOutcome): OutcomeView {
  return { ...outcome, at: new Date(outcome.at).toISOString() };
}

/** An outcome as stored with its customer: `at` in epoch milliseconds, absent fields as null. */
export interface StoredOutcome {
  decisionId: string;
  placement: string;
  item: string;
  /** The rule that served the item; null for a fallback item. */
  rule: string | null;
  /** The placement's ranking arm in that decision (optimized or priority order); null when it had none. */
  arm: 'optimized' | 'priority' | null;
  kind: OutcomeKind;
  at: number;
  value: number | null;
}

/** Orders outcomes newest first; equal times keep their relative order. */
export function outcomesNewestFirst(a: StoredOutcome, b: StoredOutcome): number {
  return b.at - a.at;
}
