import * as z from 'zod';
import type { JsonObject } from './json.js';
import { toTouchpointView, type StoredTouchpoint, type TouchpointView } from './touchpoint.js';

/** Upper bound on a profile's attributes as JSON, so repeated patches cannot grow a profile without limit. */
export const MAX_ATTRIBUTES_BYTES = 64 * 1024;

export interface Profile {
  customerId: string;
  attributes: JsonObject;
  /** The explicitly set stage, or null when the stage is inferred. */
  stage: string | null;
  /** Newest first, already limited by retention and the per-profile cap. */
  touchpoints: StoredTouchpoint[];
  createdAt: number;
  updatedAt: number;
}

export function newProfile(customerId: string, now: number): Profile {
  return { customerId, attributes: {}, stage: null, touchpoints: [], createdAt: now, updatedAt: now };
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

export type StageSource = 'explicit' | 'inferred' | 'default';

export interface ProfileView {
  customerId: string;
  stage: string;
  stageSource: StageSource;
  explicitStage: string | null;
  attributes: JsonObject;
  touchpointCount: number;
  touchpoints: TouchpointView[];
  createdAt: string;
  updatedAt: string;
}

export function toProfileView(profile: Profile, stage: string, stageSource: StageSource): ProfileView {
  return {
    customerId: profile.customerId,
    stage,
    stageSource,
    explicitStage: profile.stage,
    attributes: profile.attributes,
    touchpointCount: profile.touchpoints.length,
    touchpoints: profile.touchpoints.map(toTouchpointView),
    createdAt: new Date(profile.createdAt).toISOString(),
    updatedAt: new Date(profile.updatedAt).toISOString(),
  };
}
