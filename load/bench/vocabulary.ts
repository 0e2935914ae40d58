/**
 * The words the generated rules and profiles share: touchpoint types and the
 * channels they arrive on, attribute values, request contexts. Rules only
 * match something when they speak about what profiles contain.
 */

/** Twelve types with the weight of each among a customer's touchpoints and the channels it arrives on. */
export const TOUCHPOINT_TYPES: ReadonlyArray<{ type: string; weight: number; channels: readonly string[] }> = [
  { type: 'page_view', weight: 40, channels: ['web', 'web', 'app'] },
  { type: 'search', weight: 10, channels: ['web', 'app'] },
  { type: 'cart_add', weight: 8, channels: ['web', 'app'] },
  { type: 'checkout_start', weight: 4, channels: ['web', 'app'] },
  { type: 'purchase', weight: 4, channels: ['web', 'app', 'store'] },
  { type: 'email_open', weight: 12, channels: ['email'] },
  { type: 'email_click', weight: 5, channels: ['email'] },
  { type: 'app_open', weight: 7, channels: ['app'] },
  { type: 'store_visit', weight: 3, channels: ['store'] },
  { type: 'review', weight: 2, channels: ['web', 'app'] },
  { type: 'referral', weight: 1, channels: ['web'] },
  { type: 'support_ticket', weight: 2, channels: ['chat', 'email'] },
];

export const TYPES: readonly string[] = TOUCHPOINT_TYPES.map((t) => t.type);
/** Five channels. */
export const CHANNELS: readonly string[] = ['web', 'app', 'email', 'store', 'chat'];

export const STAGES = ['awareness', 'consideration', 'purchase', 'retention', 'advocacy'] as const;
export const TIERS = ['silver', 'gold', 'platinum'] as const;
export const COUNTRIES = ['US', 'CA', 'GB', 'DE', 'FR'] as const;
export const CATEGORIES = ['hiking', 'camping', 'climbing', 'ski', 'running', 'footwear', 'kids'] as const;
export const DEVICES = ['desktop', 'mobile', 'tablet'] as const;
/** The experiments and holdouts rules split customers by (each salt costs one hash per decision). */
export const BUCKET_SALTS = ['q4-holdout', 'hero-test-2026', 'email-subject-test', 'recs-algo-v2'] as const;
