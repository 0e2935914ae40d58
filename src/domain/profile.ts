import * as z from 'zod';
import { customerIdAnswerSchema, customerIdSchema } from './ids.js';
import { jsonObjectSchema, timestampSchema, type JsonObject } from './json.js';
import { outcomeViewSchema, toOutcomeView, type StoredOutcome } from './outcome.js';
import { toTouchpointView, touchpointViewSchema, type StoredTouchpoint } from './touchpoint.js';

/** Upper bound on a profile's attributes as JSON, so repeated patches cannot grow a profile without limit. */
export const MAX_ATTRIBUTES_BYTES = 64 * 1024;

export interface Profile {
  customerId: string;
  attributes: JsonObject;
  /** The explicitly set stage, or null when the stage is inferred. */
  stage: string | null;
  /** Newest first, already limited by retention and the per-profile cap. */
  touchpoints: StoredTouchpoint[];
  /** What the customer did with what was served, newest first; absent: none (stores without outcomes). */
  outcomes?: readonly StoredOutcome[];
  /** The other ids of this customer (contract section 11), sorted; absent: none. */
  aliases?: readonly string[];
  createdAt: number;
  updatedAt: number;
}

export const profilePatchSchema = z
  .strictObject({
    attributes: z
      .record(z.string(), z.json())
      .optional()
      .meta({ description: 'A JSON merge patch (RFC 7386) of the attributes: a key set to null is deleted.', examples: [{ tier: 'gold', nickname: null }] }),
    stage: z
      .string()
      .nullable()
      .optional()
      .meta({ description: 'Sets the stage explicitly (one of the stages of journey.json); null clears it, so the stage is inferred again.', examples: ['retention'] }),
  })
  .meta({ description: 'Changes to a profile; a missing profile is created.' });
export type ProfilePatch = z.infer<typeof profilePatchSchema>;

/** POST /v1/customers/{id}/aliases (contract section 11). */
export const aliasRequestSchema = z
  .strictObject({
    alias: customerIdSchema.meta({ description: 'Another id of the same customer: a device, a cookie, an email system id.', examples: ['device-7f3a'] }),
  })
  .meta({ description: 'An id to tie to the customer.' });

/** Where a customer's current stage comes from (contract section 3). */
export const stageSourceSchema = z
  .enum(['explicit', 'inferred', 'default'])
  .meta({ description: 'explicit: set through PATCH; inferred: by a stage rule of journey.json; default: the first stage.' });
export type StageSource = z.output<typeof stageSourceSchema>;

/** A customer's profile as the API shows it. */
export const profileViewSchema = z.object({
  customerId: customerIdAnswerSchema,
  stage: z.string().meta({ description: 'The current stage.', examples: ['consideration'] }),
  stageSource: stageSourceSchema,
  explicitStage: z.string().nullable().meta({ description: 'The stage set through PATCH, or null.' }),
  attributes: jsonObjectSchema,
  touchpointCount: z.int().min(0),
  touchpoints: z.array(touchpointViewSchema).meta({ description: 'Newest first.' }),
  outcomes: z.array(outcomeViewSchema).meta({ description: 'What the customer did with what decisions served (POST /v1/outcomes), newest first.' }),
  aliases: z.array(customerIdAnswerSchema).meta({ description: 'The other ids of this customer (POST /v1/customers/{id}/aliases), sorted; `customerId` is the canonical one.' }),
  createdAt: timestampSchema,
  updatedAt: timestampSchema,
});
export type ProfileView = z.output<typeof profileViewSchema>;

export function toProfileView(profile: Profile, stage: string, stageSource: StageSource): ProfileView {
  return {
    customerId: profile.customerId,
    stage,
    stageSource,
    explicitStage: profile.stage,
    attributes: profile.attributes,
    touchpointCount: profile.touchpoints.length,
    touchpoints: profile.touchpoints.map(toTouchpointView),
    outcomes: (profile.outcomes ?? []).map(toOutcomeView),
    aliases: [...(profile.aliases ?? [])],
    createdAt: new Date(profile.createdAt).toISOString(),
    updatedAt: new Date(profile.updatedAt).toISOString(),
  };
}
