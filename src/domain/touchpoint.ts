import * as z from 'zod';
import { slugSchema } from './ids.js';
import { jsonObjectSchema, timestampSchema, type JsonObject } from './json.js';

export const MAX_TOUCHPOINT_PROPERTIES_BYTES = 4096;
export const MAX_TOUCHPOINTS_PER_REQUEST = 1000;
/** How far in the future a touchpoint's `at` may lie (clock skew between senders). */
export const MAX_FUTURE_SKEW_MS = 5 * 60 * 1000;

/** When something happened, as a sender gives it: touchpoints and outcomes alike. */
export const eventAtSchema = z.iso
  .datetime({ offset: true, message: 'must be an ISO-8601 date-time with an offset, e.g. 2026-01-31T12:00:00Z' })
  .meta({ description: 'When it happened, with an offset; default: now. At most 5 minutes in the future.', examples: ['2026-01-31T12:00:00Z'] });

export const touchpointInputSchema = z
  .strictObject({
    id: z
      .string()
      .min(1)
      .max(256)
      .optional()
      .meta({ description: 'Makes delivery idempotent: a second touchpoint with the same id for the same customer is not stored again.' }),
    type: slugSchema.meta({ description: 'What happened: page_view, email_open, cart_add, purchase, store_visit, support_ticket, ...', examples: ['cart_add'] }),
    channel: slugSchema.meta({ description: 'Where it happened: web, app, email, store, call, ...', examples: ['web'] }),
    at: eventAtSchema.optional(),
    properties: z
      .record(z.string(), z.json())
      .optional()
      .meta({ description: 'Anything else worth keeping, at most 4 KB as JSON.', examples: [{ sku: 'SKU-1', price: 19.9 }] }),
  })
  .meta({ description: 'Something a customer did, on one channel.' });
export type TouchpointInput = z.infer<typeof touchpointInputSchema>;

export const touchpointBatchSchema = z
  .strictObject({
    touchpoints: z.array(touchpointInputSchema).min(1).max(MAX_TOUCHPOINTS_PER_REQUEST),
  })
  .meta({ description: `Up to ${MAX_TOUCHPOINTS_PER_REQUEST} touchpoints of one customer, stored together.` });

/** A touchpoint as stored: `at` in epoch milliseconds, absent fields as null. */
export interface StoredTouchpoint {
  id: string | null;
  type: string;
  channel: string;
  at: number;
  properties: JsonObject | null;
}

/** A touchpoint as the API shows it. */
export const touchpointViewSchema = z.object({
  id: z.string().optional().meta({ description: 'The id it was sent with, if any.' }),
  type: z.string(),
  channel: z.string(),
  at: timestampSchema,
  properties: jsonObjectSchema.optional(),
});
export type TouchpointView = z.output<typeof touchpointViewSchema>;

export function toTouchpointView(tp: StoredTouchpoint): TouchpointView {
  const view: TouchpointView = tp.id !== null ? { id: tp.id, type: tp.type, channel: tp.channel, at: '' } : { type: tp.type, channel: tp.channel, at: '' };
  view.at = new Date(tp.at).toISOString();
  if (tp.properties !== null) view.properties = tp.properties;
  return view;
}

/** Orders touchpoints newest first; equal times keep their relative order. */
export function newestFirst(a: StoredTouchpoint, b: StoredTouchpoint): number {
  return b.at - a.at;
}
