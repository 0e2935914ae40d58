/**
 * A decision: what to ask for and what comes back. The answer's zod schemas
 * are the one definition: its types are derived from them, and the OpenAPI
 * document is generated from them. Nothing parses a decision with them.
 */
import * as z from 'zod';
import { CUSTOMER_ID_PATTERN, customerIdAnswerSchema, customerIdSchema, SLUG_PATTERN, slugSchema } from './ids.js';
import { jsonValueSchema, type JsonObject } from './json.js';
import { stageSourceSchema } from './profile.js';
import { RANKING_ARMS } from './report.js';
import { problemSchema } from './responses.js';
import { itemTraceSchema, ruleTraceSchema, stageTraceSchema } from './trace.js';

export const MAX_PLACEMENTS_PER_REQUEST = 20;
export const MAX_BATCH_REQUESTS = 1000;
export const MAX_CONTEXT_BYTES = 16 * 1024;

export const decisionRequestSchema = z
  .strictObject({
    customerId: customerIdSchema.meta({ examples: ['c-42'] }),
    placements: z
      .array(slugSchema)
      .min(1, 'needs at least one placement')
      .max(MAX_PLACEMENTS_PER_REQUEST)
      .meta({ description: 'The placements to decide, each defined by a file of placements/.', examples: [['home-hero']] }),
    context: z
      .record(z.string(), z.json())
      .optional()
      .meta({
        description: `What the rules may read as the context fact (at most ${MAX_CONTEXT_BYTES / 1024} KB as JSON); context.channel also filters items by their channels.`,
        examples: [{ channel: 'web', device: 'mobile' }],
      }),
    explain: z.boolean().optional().meta({ description: 'Adds why: every rule with its conditions traced, and how the stage was decided.' }),
  })
  .meta({ description: 'Which placements to decide for which customer.' });
export type DecisionRequestBody = z.infer<typeof decisionRequestSchema>;

/**
 * A decision request as decisionRequestSchema reads it, for the shape nearly
 * every request has, checked by hand: the schema's own parse was about 3% of
 * a decision stream's thread. `raw` is a value JSON.parse made: the context's
 * values are JSON but for numbers too large for a double, which JSON.parse
 * makes Infinity and the schema refuses. Anything this does not take whole (a
 * field of another type, a key the schema does not know, a bad id or slug, a
 * number that is not finite) answers null, and the caller parses with the
 * schema, which says what is wrong. A
 * property test holds the two to the same answers
 * (test/unit/decision-request.test.ts).
 */
export function readDecisionRequest(raw: unknown): DecisionRequestBody | null {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return null;
  const body = raw as Record<string, unknown>;
  for (const key in body) {
    if (key !== 'customerId' && key !== 'placements' && key !== 'context' && key !== 'explain') return null;
  }
  const { customerId, placements, context, explain } = body;
  if (typeof customerId !== 'string' || !CUSTOMER_ID_PATTERN.test(customerId)) return null;
  if (!Array.isArray(placements) || placements.length < 1 || placements.length > MAX_PLACEMENTS_PER_REQUEST) return null;
  for (const placement of placements) if (typeof placement !== 'string' || !SLUG_PATTERN.test(placement)) return null;
  if (context !== undefined && (typeof context !== 'object' || context === null || Array.isArray(context) || !finiteNumbersOnly(context))) return null;
  if (explain !== undefined && typeof explain !== 'boolean') return null;
  const request: DecisionRequestBody = { customerId, placements: placements as string[] };
  if (context !== undefined) request.context = context as DecisionRequestBody['context'];
  if (explain !== undefined) request.explain = explain;
  return request;
}

/** Whether every number in a parsed JSON value is finite. */
function finiteNumbersOnly(value: unknown): boolean {
  if (typeof value === 'number') return Number.isFinite(value);
  if (typeof value !== 'object' || value === null) return true;
  if (Array.isArray(value)) {
    for (const element of value) if (!finiteNumbersOnly(element)) return false;
    return true;
  }
  for (const key in value) if (!finiteNumbersOnly((value as Record<string, unknown>)[key])) return false;
  return true;
}

export const batchDecisionRequestSchema = z
  .strictObject({
    // Each request is checked on its own, so one bad request answers a problem in its place, not a 400 for all.
    requests: z.array(z.unknown()).min(1, 'needs at least one request').max(MAX_BATCH_REQUESTS),
  })
  .meta({ description: `Up to ${MAX_BATCH_REQUESTS} decision requests, decided together.` });

/** A validated decision request. Placements as asked: decide() decides each once and refuses unknown ones. */
export interface DecisionRequest {
  customerId: string;
  placements: readonly string[];
  context: JsonObject;
  explain: boolean;
}

export const servedItemSchema = z
  .object({
    id: z.string().meta({ examples: ['hero-cart'] }),
    kind: z.enum(['content', 'offer']),
    rule: z.string().nullable().meta({ description: 'The rule that served the item; null for a fallback item.', examples: ['cart-abandoners'] }),
  })
  .catchall(jsonValueSchema)
  .meta({ description: 'A catalog item as served: every field of the catalog entry (title, url, code, ...), and the rule that served it.' });
export type ServedItem = z.output<typeof servedItemSchema>;

export const placementDecisionSchema = z.object({
  items: z.array(servedItemSchema),
  fallback: z.boolean().meta({ description: "Whether the items are the placement's fallback (no rule served any)." }),
  ranking: z
    .enum(RANKING_ARMS)
    .optional()
    .meta({
      description:
        'Only for a placement with optimize: optimized (ranked by Thompson sampling on the goal rate) or priority (the control arm, kept in priority order; also a fallback).',
    }),
  trace: z.array(ruleTraceSchema).optional().meta({ description: 'With explain: every rule of the placement in arbitration order, matched or not, and why.' }),
  fallbackTrace: z.array(itemTraceSchema).optional().meta({ description: 'With explain, when the placement fell back: each fallback item and what became of it.' }),
});
export type PlacementDecision = z.output<typeof placementDecisionSchema>;

export const decisionSchema = z.object({
  decisionId: z.string().meta({ description: 'Unique to this decision, for logs and analytics.' }),
  customerId: customerIdAnswerSchema,
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
export type Decision = z.output<typeof decisionSchema>;

export const batchDecisionResultsSchema = z.object({
  results: z
    .array(z.union([decisionSchema, problemSchema]))
    .meta({ description: 'One per request, in request order: a decision, or the problem that request had.' }),
});
