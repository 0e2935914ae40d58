/**
 * The shapes of the service's answers that belong to no other concept:
 * problems, probes, touchpoint results and the rules status. The answers of a
 * concept live beside it (Decision in decision.ts, the traces in trace.ts,
 * ProfileView in profile.ts), each a zod schema its type is derived from.
 * test/http/openapi.test.ts holds them all to what the routes really send.
 * Nothing parses a response with them.
 *
 * Objects are plain `z.object`s: the document publishes them open ("at
 * least these fields", contract section 5); the test checks them closed.
 */
import * as z from 'zod';
import { timestampSchema } from './json.js';

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

export const serviceIndexSchema = z.object({
  service: z.literal('nextbest'),
  version: z.string().meta({ examples: ['0.1.0'] }),
  links: z
    .record(z.string(), z.string())
    .meta({ description: 'Where to go from here, relative to this service: the API reference, the console, the OpenAPI document, the probes and metrics.' }),
});

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
  placementRules: z
    .array(
      z.object({
        placement: z.string(),
        file: z.string(),
        maxItems: z.int().min(1),
        fallback: z.array(z.string()),
        optimize: z
          .object({ goal: z.enum(['click', 'conversion']), explore: z.number().min(0).max(0.5) })
          .nullable()
          .meta({ description: 'How the placement ranks eligible items by what works (contract section 10); null: priority order.' }),
        rules: z.array(
          z.object({
            name: z.string(),
            priority: z.int(),
            enabled: z.boolean(),
            activeFrom: timestampSchema.nullable(),
            activeUntil: timestampSchema.nullable(),
            items: z.array(z.string()),
            caps: z
              .array(
                z.object({
                  item: z.string(),
                  kind: z.string(),
                  max: z.int().min(1),
                  withinDays: z.number().nullable(),
                  scope: z.string(),
                }),
              )
              .meta({ description: 'The caps of the catalog items the rule serves.' }),
          }),
        ),
      }),
    )
    .meta({ description: 'Each placement of the rules serving with its rules, highest priority first (the console shows them); empty before the first good load.' }),
});

export type ProblemAnswer = z.infer<typeof problemSchema>;
export type RulesStatusAnswer = z.infer<typeof rulesStatusSchema>;
