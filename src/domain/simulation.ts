/**
 * POST /v1/simulate: a decision for a hypothetical customer at a chosen
 * moment, so a marketer can preview a campaign before it starts. Nothing of it
 * is stored; the profile lives only for the request.
 */
import * as z from 'zod';
import { decisionSchema, MAX_CONTEXT_BYTES, MAX_PLACEMENTS_PER_REQUEST } from './decision.js';
import { customerIdSchema, slugSchema } from './ids.js';
import { jsonObjectSchema, timestampSchema } from './json.js';
import { MAX_TOUCHPOINTS_PER_REQUEST } from './touchpoint.js';

const isoWithOffset = z.iso.datetime({ offset: true, message: 'must be an ISO-8601 date-time with an offset, e.g. 2026-01-31T12:00:00Z' });

export const simulationRequestSchema = z
  .strictObject({
    customerId: customerIdSchema.optional().meta({ description: 'The id the rules see (customerId, bucket facts); default `simulated`.' }),
    profile: z
      .strictObject({
        attributes: jsonObjectSchema.optional(),
        stage: slugSchema.nullable().optional().meta({ description: 'An explicit stage; null or absent: inferred by the stage rules.' }),
        touchpoints: z
          .array(z.strictObject({ type: slugSchema, channel: slugSchema, at: isoWithOffset }))
          .max(MAX_TOUCHPOINTS_PER_REQUEST)
          .optional()
          .meta({ description: 'The touchpoints the customer would have had, each with its time (before `asOf` to count).' }),
      })
      .optional()
      .meta({ description: 'The hypothetical customer; absent: a new visitor.' }),
    context: z
      .record(z.string(), z.json())
      .optional()
      .meta({ description: `The request context (at most ${MAX_CONTEXT_BYTES / 1024} KB as JSON); context.channel filters items by channel.` }),
    placements: z.array(slugSchema).min(1, 'needs at least one placement').max(MAX_PLACEMENTS_PER_REQUEST),
    asOf: isoWithOffset.optional().meta({ description: 'The moment to decide at (activity windows, withinDays); default now.' }),
  })
  .meta({ description: 'A hypothetical customer, context and moment to decide for.' });

export type SimulationRequest = z.output<typeof simulationRequestSchema>;

export const simulationAnswerSchema = decisionSchema
  .extend({ asOf: timestampSchema.meta({ description: 'The moment the decision was made at.' }) })
  .meta({ description: 'A decision with its explain trace, made for a hypothetical customer at `asOf`; nothing was stored.' });
