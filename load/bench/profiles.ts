/**
 * Generated customers: a few attributes and 60 touchpoints each (twelve
 * types, five channels, spread over the last year and denser lately), each
 * customer leaning towards a persona so that different rules match different
 * people. The same generator feeds the in-process pool and the HTTP seeding.
 */
import type { JsonObject } from '../../src/domain/json.js';
import type { Profile } from '../../src/domain/profile.js';
import type { StoredTouchpoint } from '../../src/domain/touchpoint.js';
import { createRandom, type Random } from './random.js';
import { CATEGORIES, COUNTRIES, STAGES, TIERS, TOUCHPOINT_TYPES } from './vocabulary.js';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Within the service's default retention (365 days), so ingestion keeps every touchpoint. */
const SPREAD_DAYS = 360;

export interface ProfileOptions {
  now: number;
  touchpoints?: number;
  seed?: number;
  idPrefix?: string;
}

/** Persona: the weight multipliers a customer applies to touchpoint types. */
const PERSONAS: ReadonlyArray<Readonly<Record<string, number>>> = [
  {},
  { purchase: 4, review: 3, referral: 3 },
  { email_open: 3, email_click: 3 },
  { app_open: 4, page_view: 0.5 },
  { store_visit: 5, purchase: 2 },
  { cart_add: 3, checkout_start: 3, search: 2 },
  { support_ticket: 4 },
];

export function generateProfile(index: number, options: ProfileOptions): Profile {
  const random = createRandom((options.seed ?? 7) * 1_000_003 + index);
  const customerId = `${options.idPrefix ?? 'bench-'}${index}`;
  const persona = random.pick(PERSONAS);
  const weights = TOUCHPOINT_TYPES.map((t) => [t, t.weight * (persona[t.type] ?? 1)] as const);
  const count = options.touchpoints ?? 60;
  const touchpoints: StoredTouchpoint[] = [];
  for (let k = 0; k < count; k++) {
    const entry = random.weighted(weights);
    // Squaring skews ages towards the present: more activity lately than a year ago.
    const ageDays = SPREAD_DAYS * random.next() ** 2;
    touchpoints.push({
      id: `${customerId}-${k}`,
      type: entry.type,
      channel: random.pick(entry.channels),
      at: Math.floor(options.now - ageDays * DAY_MS),
      properties: propertiesFor(random, entry.type),
    });
  }
  touchpoints.sort((a, b) => b.at - a.at);
  return {
    customerId,
    attributes: attributesFor(random),
    // A few customers have their stage set by a CRM; the rest are inferred.
    stage: random.chance(0.05) ? random.pick(STAGES) : null,
    touchpoints,
    createdAt: options.now - SPREAD_DAYS * DAY_MS,
    updatedAt: options.now,
  };
}

export function generateProfiles(count: number, options: ProfileOptions): Profile[] {
  return Array.from({ length: count }, (_, i) => generateProfile(i, options));
}

function attributesFor(random: Random): JsonObject {
  // No nulls: a merge patch (PATCH /v1/customers/{id}) would drop them, and both paths must see the same profile.
  const attributes: JsonObject = {
    address: { country: random.pick(COUNTRIES), postcode: String(random.int(10000, 99999)) },
    loyaltyMember: random.chance(0.4),
    marketingOptIn: random.chance(0.7),
    lifetimeValue: Math.round(random.next() ** 2 * 3000),
  };
  if (random.chance(0.5)) attributes.tier = random.pick(TIERS);
  if (random.chance(0.6)) attributes.favoriteCategories = random.sample(CATEGORIES, random.int(1, 3));
  if (random.chance(0.25)) attributes.npsScore = random.int(0, 10);
  return attributes;
}

function propertiesFor(random: Random, type: string): JsonObject | null {
  const category = random.pick(CATEGORIES);
  switch (type) {
    case 'page_view':
      return { path: `/p/${category}/${random.int(100, 999)}`, category };
    case 'cart_add':
      return { sku: `SKU-${category}-${random.int(100, 999)}`, price: random.int(20, 400) };
    case 'purchase':
      return { orderId: `o-${random.int(1, 1e9)}`, value: random.int(30, 600) };
    case 'email_open':
    case 'email_click':
      return { campaign: `weekly-2026-${random.int(1, 48)}` };
    default:
      return null;
  }
}

/** The ingestion API's body for a profile's touchpoints (POST /v1/customers/{id}/touchpoints). */
export function touchpointsBody(profile: Profile): string {
  return JSON.stringify({
    touchpoints: profile.touchpoints.map((tp) => ({
      id: tp.id ?? undefined,
      type: tp.type,
      channel: tp.channel,
      at: new Date(tp.at).toISOString(),
      ...(tp.properties ? { properties: tp.properties } : {}),
    })),
  });
}

/** The profile API's body for a profile's attributes and stage (PATCH /v1/customers/{id}). */
export function profilePatchBody(profile: Profile): string {
  return JSON.stringify({ attributes: profile.attributes, ...(profile.stage ? { stage: profile.stage } : {}) });
}
