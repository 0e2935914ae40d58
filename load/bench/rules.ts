/**
 * A generated rules folder the size of a large deployment: 10 placements of
 * 50 rules, one placement of 500, ~200 catalog items, a dozen segments and a
 * journey. Conditions look like what marketers write (all/any/not nesting,
 * segment references, every fact with its params, paths into attributes and
 * context, stage operators, decorators), and their values are drawn from the
 * same vocabulary as the generated profiles, so a realistic share of rules match.
 */
import type { RuleSource } from '../../src/ruleset/layout.js';
import { createRandom, type Random } from './random.js';
import { BUCKET_SALTS, CATEGORIES, CHANNELS, COUNTRIES, DEVICES, STAGES, TIERS, TOUCHPOINT_TYPES, TYPES } from './vocabulary.js';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface RulesOptions {
  now: number;
  seed?: number;
  /** Placements of `rulesPerPlacement` rules; the first three are the web, web and email ones the benchmark asks for. */
  placements?: number;
  rulesPerPlacement?: number;
  largeRules?: number;
  catalogItems?: number;
}

export interface GeneratedRules {
  /** The files of the rules folder, named as buildRuleset and RULES_DIR expect. */
  sources: RuleSource[];
  /** The 50-rule placements a web page asks for, in order (a realistic request names the first two). */
  webPlacements: string[];
  /** The 50-rule placement the email batch asks for, with context.channel "email". */
  emailPlacement: string;
  /** The 500-rule placement. */
  largePlacement: string;
}

const PLACEMENT_NAMES = [
  'home-hero',
  'cart-sidebar',
  'email-offers',
  'account-banner',
  'product-recs',
  'checkout-upsell',
  'app-home',
  'search-results',
  'order-confirmation',
  'footer-promo',
];
const LARGE_PLACEMENT = 'offer-wall';
const EMAIL_PLACEMENT = 'email-offers';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

interface Item {
  id: string;
  channels: readonly string[] | null;
  timed: boolean;
}

export function generateRules(options: RulesOptions): GeneratedRules {
  const random = createRandom(options.seed ?? 20_261_123);
  const now = options.now;
  const placementCount = Math.min(options.placements ?? 10, PLACEMENT_NAMES.length);
  const rulesPerPlacement = options.rulesPerPlacement ?? 50;
  const largeRules = options.largeRules ?? 500;

  const items = generateCatalog(random, options.catalogItems ?? 200, now);
  const sources: RuleSource[] = [
    file('catalog.json', { items: items.json }),
    file('segments.json', { segments: SEGMENTS }),
    file('journey.json', { stages: [...STAGES], rules: JOURNEY_RULES }),
  ];
  const names = PLACEMENT_NAMES.slice(0, placementCount);
  for (const name of names) {
    const channel = name === EMAIL_PLACEMENT ? 'email' : name === 'app-home' ? 'app' : 'web';
    sources.push(file(`placements/${name}.json`, generatePlacement(random, { name, channel, rules: rulesPerPlacement, items: items.list, now })));
  }
  sources.push(
    file(`placements/${LARGE_PLACEMENT}.json`, generatePlacement(random, { name: LARGE_PLACEMENT, channel: 'web', rules: largeRules, items: items.list, now })),
  );
  return {
    sources,
    webPlacements: names.filter((n) => n !== EMAIL_PLACEMENT && n !== 'app-home'),
    emailPlacement: EMAIL_PLACEMENT,
    largePlacement: LARGE_PLACEMENT,
  };
}

function file(name: string, data: JsonObject): RuleSource {
  return { file: name, text: `${JSON.stringify(data, null, 2)}\n` };
}

const iso = (ms: number): string => new Date(ms).toISOString();

function generateCatalog(random: Random, count: number, now: number): { json: Json[]; list: Item[] } {
  const channelSets: ReadonlyArray<readonly [readonly string[] | null, number]> = [
    [null, 30],
    [['web', 'app'], 30],
    [['email'], 15],
    [['web', 'app', 'email'], 15],
    [['web'], 5],
    [['store'], 5],
  ];
  const json: Json[] = [];
  const list: Item[] = [];
  for (let i = 0; i < count; i++) {
    const kind = random.chance(0.6) ? 'content' : 'offer';
    const id = `${kind}-${String(i).padStart(3, '0')}`;
    const channels = random.weighted(channelSets);
    const category = random.pick(CATEGORIES);
    const item: JsonObject = { id, kind };
    if (channels) item.channels = [...channels];
    // A fifth of the items run for a campaign: most are on now, a few start later.
    const timed = random.chance(0.2);
    if (timed) {
      const startsLater = random.chance(0.15);
      item.activeFrom = iso(now + (startsLater ? random.int(5, 30) : -random.int(1, 60)) * DAY_MS);
      item.activeUntil = iso(now + random.int(40, 120) * DAY_MS);
    }
    item.title = `${category[0]?.toUpperCase()}${category.slice(1)} ${kind === 'offer' ? 'deal' : 'guide'} ${i}`;
    item.body = `Everything for ${category}, picked by our staff for the season. Item ${i} of the generated catalog.`;
    item.cta = kind === 'offer' ? 'Claim the offer' : 'Read more';
    item.url = `https://www.example.com/${category}/${id}?utm_source=nextbest`;
    item.image = `https://cdn.example.com/${category}/${id}.jpg`;
    if (kind === 'offer') {
      item.code = `SAVE${random.int(5, 40)}-${i}`;
      item.discountPct = random.pick([10, 15, 20, 25, 30]);
    }
    json.push(item);
    list.push({ id, channels, timed });
  }
  return { json, list };
}

const SEGMENTS: JsonObject = {
  vip: { all: [{ fact: 'attributes', path: '$.tier', operator: 'in', value: ['gold', 'platinum'] }] },
  'cart-abandoner': {
    all: [
      { fact: 'touchpointCount', params: { type: 'cart_add', withinDays: 7 }, operator: 'greaterThan', value: 0 },
      { fact: 'touchpointCount', params: { type: 'purchase', withinDays: 7 }, operator: 'equal', value: 0 },
    ],
  },
  'recent-support': {
    all: [{ fact: 'touchpointCount', params: { type: 'support_ticket', withinDays: 14 }, operator: 'greaterThan', value: 0 }],
  },
  'email-engaged': {
    any: [
      { fact: 'touchpointCount', params: { type: 'email_click', channel: 'email', withinDays: 60 }, operator: 'greaterThan', value: 0 },
      { fact: 'touchpointCount', params: { type: 'email_open', channel: 'email', withinDays: 30 }, operator: 'greaterThanInclusive', value: 2 },
    ],
  },
  lapsed: { all: [{ fact: 'daysSinceLastTouchpoint', params: { type: 'purchase' }, operator: 'greaterThan', value: 120 }] },
  omnichannel: { all: [{ fact: 'channels', operator: 'everyValue:contains', value: ['web', 'store'] }] },
  holdout: { all: [{ fact: 'bucket', params: { salt: 'q4-holdout' }, operator: 'lessThan', value: 10 }] },
  'app-user': { all: [{ fact: 'touchpointCount', params: { type: 'app_open', channel: 'app', withinDays: 90 }, operator: 'greaterThanInclusive', value: 2 }] },
  'high-value': {
    any: [
      { fact: 'attributes', path: '$.lifetimeValue', operator: 'greaterThan', value: 1500 },
      { fact: 'touchpointCount', params: { type: 'purchase', withinDays: 365 }, operator: 'greaterThanInclusive', value: 4 },
    ],
  },
  'engaged-vip': { all: [{ condition: 'vip' }, { condition: 'email-engaged' }, { not: { condition: 'recent-support' } }] },
  'outdoor-fan': { all: [{ fact: 'attributes', path: '$.favoriteCategories', operator: 'someValue:contains', value: ['hiking', 'camping', 'climbing'] }] },
  'mobile-web': {
    all: [
      { fact: 'context', path: '$.channel', operator: 'equal', value: 'web' },
      { fact: 'context', path: '$.device', operator: 'not:equal', value: 'desktop' },
    ],
  },
  'late-funnel': { all: [{ fact: 'stage', operator: 'stageAtLeast', value: 'purchase' }, { not: { condition: 'holdout' } }] },
};

const JOURNEY_RULES: Json[] = [
  {
    name: 'repeat-buyer-who-advocates',
    priority: 50,
    conditions: {
      all: [
        { fact: 'touchpointCount', params: { type: ['review', 'referral'], withinDays: 90 }, operator: 'greaterThan', value: 0 },
        { fact: 'touchpointCount', params: { type: 'purchase', withinDays: 365 }, operator: 'greaterThanInclusive', value: 4 },
      ],
    },
    event: { type: 'stage', params: { stage: 'advocacy' } },
  },
  {
    name: 'promoter',
    priority: 50,
    conditions: {
      all: [
        { fact: 'attributes', path: '$.npsScore', operator: 'greaterThanInclusive', value: 9 },
        { condition: 'high-value' },
      ],
    },
    event: { type: 'stage', params: { stage: 'advocacy' } },
  },
  {
    name: 'bought-lately',
    priority: 40,
    conditions: { all: [{ fact: 'touchpointCount', params: { type: 'purchase', withinDays: 45 }, operator: 'greaterThan', value: 0 }] },
    event: { type: 'stage', params: { stage: 'retention' } },
  },
  {
    name: 'cart-or-checkout-lately',
    priority: 30,
    conditions: {
      any: [
        { fact: 'touchpointCount', params: { type: 'checkout_start', withinDays: 7 }, operator: 'greaterThan', value: 0 },
        { condition: 'cart-abandoner' },
      ],
    },
    event: { type: 'stage', params: { stage: 'purchase' } },
  },
  {
    name: 'researching',
    priority: 20,
    conditions: {
      any: [
        { fact: 'touchpointCount', params: { type: 'page_view', channel: ['web', 'app'], withinDays: 14 }, operator: 'greaterThanInclusive', value: 4 },
        { fact: 'touchpointCount', params: { type: 'search', withinDays: 7 }, operator: 'greaterThan', value: 0 },
        { fact: 'daysSinceLastTouchpoint', params: { type: 'email_click' }, operator: 'lessThan', value: 7 },
      ],
    },
    event: { type: 'stage', params: { stage: 'consideration' } },
  },
];

const SEGMENT_NAMES = Object.keys(SEGMENTS);

interface PlacementSpec {
  name: string;
  /** The channel requests for it name; rules serve items available there. */
  channel: string;
  rules: number;
  items: readonly Item[];
  now: number;
}

function generatePlacement(random: Random, spec: PlacementSpec): JsonObject {
  const servable = spec.items.filter((item) => item.channels === null || item.channels.includes(spec.channel));
  const evergreen = servable.filter((item) => !item.timed);
  const rules: Json[] = [];
  for (let i = 0; i < spec.rules; i++) {
    // The first rule of a placement is a QA preview for a few test accounts, as real placements have.
    const qa = i === 0;
    const rule: JsonObject = {
      name: `${spec.name}-${String(i).padStart(3, '0')}`,
      priority: qa ? 1000 : random.pick([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]),
    };
    if (!qa && random.chance(0.04)) rule.enabled = false;
    if (!qa && random.chance(0.15)) {
      const startsLater = random.chance(0.2);
      rule.activeFrom = iso(spec.now + (startsLater ? random.int(3, 20) : -random.int(1, 30)) * DAY_MS);
      rule.activeUntil = iso(spec.now + random.int(30, 90) * DAY_MS);
    }
    rule.conditions = qa
      ? { all: [{ fact: 'customerId', operator: 'in', value: ['qa-web-01', 'qa-app-01', 'qa-app-02'] }] }
      : rootCondition(random, spec.channel);
    rule.event = { type: 'serve', params: { items: random.sample(servable, random.int(1, 3)).map((item) => item.id) } };
    rules.push(rule);
  }
  return {
    placement: spec.name,
    description: `Generated for the benchmark: ${spec.rules} rules.`,
    maxItems: spec.name === 'home-hero' || spec.name === 'app-home' ? 1 : spec.rules > 100 ? 4 : random.int(2, 3),
    fallback: random.sample(evergreen, 2).map((item) => item.id),
    rules,
  };
}

function rootCondition(random: Random, channel: string): JsonObject {
  const roll = random.next();
  if (roll < 0.08) return { condition: random.pick(SEGMENT_NAMES) };
  if (roll < 0.1) return { not: { condition: random.pick(['holdout', 'recent-support', 'lapsed']) } };
  const key = roll < 0.85 ? 'all' : 'any';
  const children = Array.from({ length: key === 'all' ? random.int(2, 4) : random.int(2, 3) }, () => childCondition(random, channel, 1));
  // Most promotional rules leave out the holdout, so its lift can be measured.
  if (key === 'all' && random.chance(0.3)) children.push({ not: { condition: 'holdout' } });
  return { [key]: children };
}

function childCondition(random: Random, channel: string, depth: number): JsonObject {
  const roll = random.next();
  if (depth < 3 && roll < 0.12) {
    return { [random.chance(0.5) ? 'all' : 'any']: Array.from({ length: random.int(2, 3) }, () => childCondition(random, channel, depth + 1)) };
  }
  if (depth < 3 && roll < 0.18) return { not: childCondition(random, channel, depth + 1) };
  if (roll < 0.3) return { condition: random.pick(SEGMENT_NAMES) };
  return factCondition(random, channel);
}

type ConditionMaker = (random: Random, channel: string) => JsonObject;

const WITHIN_DAYS = [1, 3, 7, 14, 30, 60, 90, 180, 365];

function touchpointParams(random: Random, withDays: boolean): JsonObject {
  const params: JsonObject = {};
  const entry = random.pick(TOUCHPOINT_TYPES);
  params.type = random.chance(0.15) ? random.sample(TYPES, 2) : entry.type;
  if (random.chance(0.3)) params.channel = random.chance(0.7) ? random.pick(entry.channels) : random.sample(CHANNELS, 2);
  if (withDays && random.chance(0.7)) params.withinDays = random.pick(WITHIN_DAYS);
  return params;
}

const FACT_CONDITIONS: ReadonlyArray<readonly [ConditionMaker, number]> = [
  [
    (r) => {
      const [operator, value] = r.weighted<readonly [string, number]>([
        [['greaterThan', 0], 40],
        [['greaterThanInclusive', r.int(2, 6)], 35],
        [['equal', 0], 15],
        [['lessThan', r.int(2, 5)], 10],
      ]);
      return { fact: 'touchpointCount', params: touchpointParams(r, true), operator, value };
    },
    30,
  ],
  [
    (r) => ({
      fact: 'daysSinceLastTouchpoint',
      params: r.chance(0.9) ? touchpointParams(r, false) : {},
      operator: r.pick(['lessThan', 'greaterThan', 'lessThanInclusive']),
      value: r.pick([1, 7, 14, 30, 90, 180]),
    }),
    12,
  ],
  [
    (r) =>
      r.pick<JsonObject>([
        { fact: 'attributes', path: '$.tier', operator: 'in', value: r.sample(TIERS, 2) },
        { fact: 'attributes', path: '$.tier', operator: 'equal', value: r.pick(TIERS) },
        { fact: 'attributes', path: '$.address.country', operator: r.chance(0.7) ? 'equal' : 'notEqual', value: r.pick(COUNTRIES) },
        { fact: 'attributes', path: '$.address.country', operator: 'in', value: r.sample(COUNTRIES, 2) },
        { fact: 'attributes', path: '$.loyaltyMember', operator: 'equal', value: r.chance(0.7) },
        { fact: 'attributes', path: '$.marketingOptIn', operator: 'equal', value: true },
        { fact: 'attributes', path: '$.npsScore', operator: r.chance(0.5) ? 'greaterThanInclusive' : 'lessThanInclusive', value: r.int(5, 9) },
        { fact: 'attributes', path: '$.lifetimeValue', operator: 'greaterThan', value: r.pick([100, 250, 500, 1000, 2000]) },
        { fact: 'attributes', path: '$.favoriteCategories', operator: 'someValue:contains', value: r.sample(CATEGORIES, 2) },
        { fact: 'attributes', path: '$.favoriteCategories[0]', operator: 'in', value: r.sample(CATEGORIES, 3) },
      ]),
    22,
  ],
  [
    (r, channel) =>
      r.pick<JsonObject>([
        { fact: 'context', path: '$.channel', operator: 'equal', value: channel },
        { fact: 'context', path: '$.device', operator: 'not:equal', value: 'desktop' },
        { fact: 'context', path: '$.device', operator: 'in', value: r.sample(DEVICES, 2) },
        { fact: 'context', path: '$.campaign', operator: 'notEqual', value: 'weekly-2026-01' },
      ]),
    8,
  ],
  [
    (r) =>
      r.pick<JsonObject>([
        // Never the first stage for "at least" or the last for "at most": those always hold.
        { fact: 'stage', operator: 'stageAtLeast', value: r.pick(STAGES.slice(1)) },
        { fact: 'stage', operator: 'stageAtMost', value: r.pick(STAGES.slice(0, -1)) },
        { fact: 'stage', operator: 'in', value: r.sample(STAGES, 2) },
        { fact: 'stageIndex', operator: 'greaterThanInclusive', value: r.int(1, 3) },
      ]),
    10,
  ],
  [
    (r) => ({ fact: 'bucket', params: { salt: r.pick(BUCKET_SALTS) }, operator: r.pick(['lessThan', 'greaterThanInclusive']), value: r.pick([10, 20, 50, 80, 90]) }),
    5,
  ],
  [
    (r) =>
      r.pick<JsonObject>([
        { fact: 'touchpointTypes', operator: 'contains', value: r.pick(TYPES) },
        { fact: 'touchpointTypes', operator: 'doesNotContain', value: r.pick(TYPES) },
        { fact: 'touchpointTypes', operator: 'someFact:in', value: r.sample(TYPES, 3) },
        { fact: 'touchpointTypes', operator: 'not:someFact:equal', value: 'purchase' },
      ]),
    6,
  ],
  [
    (r) =>
      r.pick<JsonObject>([
        { fact: 'channels', operator: 'contains', value: r.pick(CHANNELS) },
        { fact: 'channels', operator: 'doesNotContain', value: r.pick(CHANNELS) },
        { fact: 'channels', operator: 'everyValue:contains', value: r.sample(CHANNELS, 2) },
      ]),
    5,
  ],
  [
    // A fact on the value side: "put something in the cart after the last purchase".
    () => ({
      fact: 'daysSinceLastTouchpoint',
      params: { type: 'purchase' },
      operator: 'greaterThan',
      value: { fact: 'daysSinceLastTouchpoint', params: { type: 'cart_add' } },
    }),
    2,
  ],
];

function factCondition(random: Random, channel: string): JsonObject {
  return random.weighted(FACT_CONDITIONS)(random, channel);
}
