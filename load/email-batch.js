// Send-time decisions: an email platform asking for the email-offers of 1000 recipients at a time
// (scenario "send", POST /v1/decisions/batch), and pouring a whole list through the decision
// stream (scenario "stream", POST /v1/decisions/stream, STREAM_LINES recipients a request).
//
//   k6 run load/email-batch.js
//   k6 run -e SCENARIOS=stream -e STREAM_LINES=50000 load/email-batch.js
//   k6 run -e BASE_URL=http://127.0.0.1:3000 -e API_KEY=... -e SEED=5000 -e VUS=8 load/email-batch.js
//
// Environment:
//   BASE_URL  the service (default http://127.0.0.1:3000)
//   API_KEY   sent as "Authorization: Bearer <key>" when set; needs the decide and ingest
//             scopes (setup writes profiles), so an admin key is simplest
//   SEED      customers c-0 .. c-<SEED-1> that setup() gives attributes and touchpoints
//             (default 3000); touchpoint ids are fixed, so seeding again adds nothing
//   VUS       concurrent senders (default 4); DURATION how long they send (default 1m)
//   SCENARIOS comma-separated: send, stream (default both, one after the other)
//   STREAM_LINES  recipients per stream request (default 20000); STREAM_VUS concurrent streams (default 2)
//
// Fails when more than 0.1% of batch requests fail or a batch's p(99) latency is 100 ms or more,
// or when a stream request fails, or answers other than one decision a line, in order.
// The seeding requests are tagged apart and do not count toward the thresholds.
import http from 'k6/http';
import { check } from 'k6';
import { Counter, Rate } from 'k6/metrics';

const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:3000').replace(/\/+$/, '');
const API_KEY = __ENV.API_KEY || '';
const SEED = positiveInt(__ENV.SEED, 3000);
const VUS = positiveInt(__ENV.VUS, 4);
const DURATION = __ENV.DURATION || '1m';
const BATCH_SIZE = 1000;
const NEW_SUBSCRIBER_RATIO = 0.05;
const DAY_MS = 24 * 60 * 60 * 1000;
const BATCH_NAME = 'POST /v1/decisions/batch';
const STREAM_NAME = 'POST /v1/decisions/stream';
const STREAM_LINES = positiveInt(__ENV.STREAM_LINES, 20000);
const STREAM_VUS = positiveInt(__ENV.STREAM_VUS, 2);
const SCENARIOS = (__ENV.SCENARIOS || 'send,stream').split(',').map((s) => s.trim());
const durationSeconds = parseDuration(DURATION);

const emailDecisions = new Counter('email_decisions');
const emailFallbacks = new Rate('email_fallback');
const streamDecisions = new Counter('stream_decisions');

export const options = {
  setupTimeout: '10m',
  batchPerHost: 20,
  scenarios: Object.fromEntries(
    [
      ['send', { executor: 'constant-vus', vus: VUS, duration: DURATION, exec: 'send' }],
      // After the batches, so the two do not share the service.
      ['stream', { executor: 'constant-vus', vus: STREAM_VUS, duration: DURATION, exec: 'stream', startTime: SCENARIOS.includes('send') ? `${durationSeconds}s` : '0s' }],
    ].filter(([name]) => SCENARIOS.includes(name)),
  ),
  thresholds: {
    [`http_req_failed{name:${BATCH_NAME}}`]: ['rate<0.001'],
    [`http_req_duration{name:${BATCH_NAME}}`]: ['p(99)<100'],
    [`http_req_failed{name:${STREAM_NAME}}`]: ['rate==0'],
    checks: ['rate>0.999'],
  },
  summaryTrendStats: ['avg', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
};

const headers = API_KEY
  ? { 'Content-Type': 'application/json', Authorization: `Bearer ${API_KEY}` }
  : { 'Content-Type': 'application/json' };

export function setup() {
  const now = Date.now();
  let failed = 0;
  for (let start = 0; start < SEED; start += 100) {
    const requests = [];
    for (let i = start; i < Math.min(start + 100, SEED); i++) {
      const customer = seedCustomer(i, now);
      const url = `${BASE_URL}/v1/customers/${customer.id}`;
      requests.push(['PATCH', url, JSON.stringify({ attributes: customer.attributes }), { headers, tags: { name: 'seed PATCH /v1/customers/{id}' } }]);
      if (customer.touchpoints.length > 0) {
        requests.push(['POST', `${url}/touchpoints`, JSON.stringify({ touchpoints: customer.touchpoints }), { headers, tags: { name: 'seed POST /v1/customers/{id}/touchpoints' } }]);
      }
    }
    for (const res of http.batch(requests)) {
      if (res.status !== 200 && res.status !== 202) failed++;
    }
  }
  if (failed > 0) {
    throw new Error(`seeding failed for ${failed} requests; is the service up at ${BASE_URL} and the key allowed to ingest?`);
  }
  return {};
}

export function send() {
  const requests = [];
  const offset = Math.floor(Math.random() * SEED);
  for (let i = 0; i < BATCH_SIZE; i++) {
    const customerId =
      Math.random() < NEW_SUBSCRIBER_RATIO ? `c-sub-${Math.floor(Math.random() * 1e9)}` : `c-${(offset + i) % SEED}`;
    requests.push({ customerId, placements: ['email-offers'], context: { channel: 'email', campaign: 'weekly-2026-48' } });
  }

  const res = http.post(`${BASE_URL}/v1/decisions/batch`, JSON.stringify({ requests }), { headers, tags: { name: BATCH_NAME } });
  let results = null;
  try {
    const body = res.json();
    if (body !== null && Array.isArray(body.results)) results = body.results;
  } catch (_) {
    results = null;
  }

  let decided = 0;
  let inOrder = true;
  if (results !== null) {
    for (let i = 0; i < Math.min(results.length, requests.length); i++) {
      const result = results[i];
      const placement = result && result.placements ? result.placements['email-offers'] : undefined;
      if (!result || result.customerId !== requests[i].customerId || !placement || !Array.isArray(placement.items)) {
        inOrder = false;
        continue;
      }
      decided++;
      emailFallbacks.add(placement.fallback === true);
    }
  }
  emailDecisions.add(decided);

  check(res, {
    'status is 200': (r) => r.status === 200,
    'one result per request': () => results !== null && results.length === BATCH_SIZE,
    'every result is a decision, in request order': () => results !== null && inOrder && decided === BATCH_SIZE,
  });
}

/** One stream request of STREAM_LINES recipients: every answer line a decision, for its recipient, in order. */
export function stream() {
  const offset = Math.floor(Math.random() * SEED);
  const ids = [];
  let body = '';
  for (let i = 0; i < STREAM_LINES; i++) {
    const customerId = `c-${(offset + i) % SEED}`;
    ids.push(customerId);
    body += `${JSON.stringify({ customerId, placements: ['email-offers'], context: { channel: 'email', campaign: 'weekly-2026-48' } })}\n`;
  }
  const streamHeaders = Object.assign({}, headers, { 'Content-Type': 'application/x-ndjson' });
  const res = http.post(`${BASE_URL}/v1/decisions/stream`, body, { headers: streamHeaders, tags: { name: STREAM_NAME }, timeout: '10m' });
  const lines = typeof res.body === 'string' ? res.body.split('\n').filter((l) => l !== '') : [];
  let inOrder = lines.length === STREAM_LINES;
  for (let i = 0; inOrder && i < lines.length; i += 97) {
    // A sample of the lines parsed: parsing them all would make k6 the bottleneck.
    const answer = JSON.parse(lines[i]);
    if (answer.customerId !== ids[i] || typeof answer.decisionId !== 'string') inOrder = false;
  }
  streamDecisions.add(lines.length);
  check(res, {
    'stream status is 200': (r) => r.status === 200,
    'stream: one decision a line, in order': () => inOrder,
  });
}

function parseDuration(text) {
  const match = /^(\d+)(ms|s|m|h)$/.exec(text);
  if (!match) return 60;
  const n = Number(match[1]);
  return { ms: n / 1000, s: n, m: n * 60, h: n * 3600 }[match[2]];
}

/**
 * Customer i of the seed: a persona picked by i, so every run seeds the same
 * profiles and decisions cover every journey stage and most rules.
 */
function seedCustomer(i, now) {
  const id = `c-${i}`;
  const rnd = mulberry32(i + 1);
  const pick = (list) => list[Math.floor(rnd() * list.length)];
  const daysAgo = (min, max) => new Date(now - (min + rnd() * (max - min)) * DAY_MS).toISOString();

  const attributes = {
    tier: pick([null, null, null, 'silver', 'silver', 'gold', 'platinum']),
    address: { country: pick(['US', 'US', 'US', 'CA', 'GB']) },
    favoriteCategories: rnd() < 0.6 ? [pick(['hiking', 'camping', 'climbing', 'ski', 'running'])] : null,
    loyaltyMember: rnd() < 0.4,
    npsScore: rnd() < 0.2 ? Math.floor(rnd() * 11) : null,
  };

  const tps = [];
  const add = (type, channel, min, max) => tps.push({ id: `seed-${id}-${tps.length}`, type, channel, at: daysAgo(min, max) });
  switch (i % 10) {
    case 0: // browsing, not decided yet
      for (let k = 0; k < 3 + Math.floor(rnd() * 5); k++) add('page_view', pick(['web', 'app']), 0, 25);
      break;
    case 1: // left a cart this week
      add('search', 'web', 3, 6);
      add('page_view', 'web', 2, 5);
      add('cart_add', pick(['web', 'app']), 0.5, 5);
      break;
    case 2: // bought recently, reads emails
      add('purchase', pick(['web', 'app']), 5, 60);
      add('email_open', 'email', 1, 20);
      add('email_open', 'email', 8, 28);
      add('email_click', 'email', 1, 20);
      break;
    case 3: // repeat buyer who reviews and refers
      add('purchase', 'web', 20, 90);
      add('purchase', pick(['web', 'store']), 100, 300);
      add(pick(['review', 'referral']), 'web', 10, 80);
      break;
    case 4: // lapsed: last purchase over six months ago
      add('purchase', 'web', 190, 330);
      add('app_open', 'app', 90, 180);
      break;
    case 5: // just contacted support about an order
      add('purchase', 'web', 10, 40);
      add('support_ticket', pick(['phone', 'chat', 'email']), 0.5, 10);
      break;
    case 6: // engaged subscriber
      add('email_open', 'email', 1, 25);
      add('email_open', 'email', 1, 25);
      add('email_click', 'email', 1, 25);
      break;
    case 7: // shops in store and online
      add('store_visit', 'store', 5, 60);
      add('purchase', 'store', 5, 60);
      add('page_view', 'web', 1, 30);
      break;
    case 8: // signed up, nothing else yet
      break;
    default: // a bit of everything
      for (let k = 0; k < 5 + Math.floor(rnd() * 20); k++) {
        const type = pick(['page_view', 'page_view', 'search', 'email_open', 'cart_add', 'purchase']);
        add(type, type === 'email_open' ? 'email' : pick(['web', 'app']), 0, 200);
      }
  }
  return { id, attributes, touchpoints: tps };
}

/** A small seeded PRNG, so customer i gets the same persona on every run. */
function mulberry32(seed) {
  let a = seed >>> 0;
  return function () {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function positiveInt(value, fallback) {
  const n = parseInt(value || '', 10);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}
