import * as z from 'zod';
import { customerIdSchema, slugSchema } from './ids.js';
import type { Json, JsonObject } from './json.js';
import type { StageSource } from './profile.js';
import type { ItemTrace, RuleTrace, StageTrace } from './trace.js';

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

export const batchDecisionRequestSchema = z
  .strictObject({
    // Each request is checked on its own, so one bad request answers a problem in its place, not a 400 for all.
    requests: z.array(z.unknown()).min(1, 'needs at least one request').max(MAX_BATCH_REQUESTS),
  })
  .meta({ description: `Up to ${MAX_BATCH_REQUESTS} decision requests, decided together.` });

/** A validated decision request, placements de-duplicated. */
export interface DecisionRequest {
  customerId: string;
  placements: readonly string[];
  context: JsonObject;
  explain: boolean;
}

export interface ServedItem {
  id: string;
  kind: 'content' | 'offer';
  /** The rule that served the item; null for a fallback item. */
  rule: string | null;
  [field: string]: Json;
}

export interface PlacementDecision {
  items: ServedItem[];
  fallback: boolean;
  /** With explain: every rule of the placement in arbitration order, matched or not, and why. */
  trace?: RuleTrace[];
  /** With explain, when the placement fell back: each fallback item and what became of it. */
  fallbackTrace?: ItemTrace[];
}

export interface Decision {
  decisionId: string;
  customerId: string;
  stage: string;
  stageSource: StageSource;
  rulesVersion: string;
  placements: Record<string, PlacementDecision>;
  /** With explain: how the stage was decided. */
  stageTrace?: StageTrace;
  /** True when the profile store failed and the customer was decided as a new visitor; absent otherwise. */
  degraded?: boolean;
}
