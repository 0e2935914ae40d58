// Touchpoint ingestion: the event stream from web, app, email, store and support systems.
//
//   k6 run load/ingest.js
//   k6 run -e BASE_URL=http://127.0.0.1:3000 -e API_KEY=... -e RATE=500 load/ingest.js
//
// Environment:
//   BASE_URL   the service (default http://127.0.0.1:3000)
//   API_KEY    sent as "Authorization: Bearer <key>" when set (needs the ingest scope)
//   CUSTOMERS  customer ids c-0 .. c-<CUSTOMERS-1> (default 10000), the same pool as decisions.js
//   RATE       peak requests per second (default 200); STEADY how long to hold it (default 2m)
//
// Mix: 60% single touchpoints, 40% batches of 10-100 (a tag or queue flushing); every
// touchpoint that has an id is unique to the run, and 5% of requests re-send an earlier
// request as a retrying sender would, which must come back as all duplicates.
import http from 'k6/http';
import { check } from 'k6';
import exec from 'k6/execution';
import { Counter } from 'k6/metrics';

const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:3000').replace(/\/+$/, '');
const API_KEY = __ENV.API_KEY || '';
const CUSTOMERS = positiveInt(__ENV.CUSTOMERS, 10000);
const RATE = positiveInt(__ENV.RATE, 200);
const STEADY = __ENV.STEADY || '2m';
const RESEND_RATIO = 0.05;
const DAY_MS = 24 * 60 * 60 * 1000;

const touchpointsSent = new Counter('touchpoints_sent');
const touchpointsDuplicates = new Counter('touchpoints_duplicates');

export const options = {
  scenarios: {
    ingest: {
      executor: 'ramping-arrival-rate',
      startRate: 0,
      timeUnit: '1s',
      preAllocatedVUs: Math.max(10, Math.ceil(RATE / 4)),
      maxVUs: Math.max(50, RATE * 2),
      stages: [
        { duration: '30s', target: RATE },
        { duration: STEADY, target: RATE },
        { duration: '15s', target: 0 },
      ],
    },
  },
  thresholds: {
    http_req_failed: ['rate<0.001'],
    // Touchpoints are stored durably before the answer, so allow more than for decisions.
    http_req_duration: ['p(99)<100'],
    checks: ['rate>0.999'],
  },
  summaryTrendStats: ['avg', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
};

const params = {
  headers: API_KEY
    ? { 'Content-Type': 'application/json', Authorization: `Bearer ${API_KEY}` }
    : { 'Content-Type': 'application/json' },
  tags: { name: 'POST /v1/customers/{id}/touchpoints' },
};

// type, weight, channels it arrives on
const TYPES = [
  ['page_view', 45, ['web', 'web', 'app']],
  ['search', 10, ['web', 'app']],
  ['cart_add', 9, ['web', 'app']],
  ['email_open', 10, ['email']],
  ['email_click', 5, ['email']],
  ['app_open', 6, ['app']],
  ['checkout_start', 4, ['web', 'app']],
  ['purchase', 4, ['web', 'app', 'store']],
  ['store_visit', 3, ['store']],
  ['review', 2, ['web', 'app']],
  ['referral', 1, ['web']],
  ['support_ticket', 1, ['phone', 'chat', 'email']],
];
const TOTAL_WEIGHT = TYPES.reduce((sum, t) => sum + t[1], 0);
const CATEGORIES = ['footwear', 'jackets', 'camping', 'climbing', 'hiking', 'ski', 'kids'];

// Requests this VU sent, kept to re-send some of them later (each VU has its own copy).
const sent = [];

export function setup() {
  // One run id shared by every VU, so touchpoint ids never collide with an earlier run's.
  return { runId: Date.now().toString(36) };
}

export default function (data) {
  let request;
  let resend = false;
  if (sent.length > 0 && Math.random() < RESEND_RATIO) {
    request = sent[Math.floor(Math.random() * sent.length)];
    resend = true;
  } else {
    request = newRequest(data.runId);
    if (request.allHaveIds) {
      if (sent.length >= 50) sent.shift();
      sent.push(request);
    }
  }

  const res = http.post(`${BASE_URL}/v1/customers/${request.customerId}/touchpoints`, request.body, params);
  const body = parseJson(res);
  const counted = body !== null && Number.isInteger(body.accepted) && Number.isInteger(body.duplicates);
  check(res, {
    'status is 202': (r) => r.status === 202,
    'answer is {accepted, duplicates}': () => counted,
    'accepted + duplicates = sent': () => counted && body.accepted + body.duplicates === request.count,
  });
  if (resend) {
    check(res, { 're-sent touchpoints are all duplicates': () => counted && body.duplicates === request.count && body.accepted === 0 });
  }
  touchpointsSent.add(request.count);
  if (counted) touchpointsDuplicates.add(body.duplicates);
}

function newRequest(runId) {
  const customerId = `c-${Math.floor(Math.random() * CUSTOMERS)}`;
  const batch = Math.random() < 0.4;
  const count = batch ? 10 + Math.floor(Math.random() * 91) : 1;
  const prefix = `${runId}-${exec.vu.idInTest}-${exec.vu.iterationInInstance}`;
  const touchpoints = [];
  let allHaveIds = true;
  for (let i = 0; i < count; i++) {
    // A few senders (e.g. store systems) have no event id; most do.
    const withId = batch || Math.random() < 0.8;
    if (!withId) allHaveIds = false;
    touchpoints.push(touchpoint(withId ? `${prefix}-${i}` : undefined, batch ? 30 : 0.01));
  }
  const body = JSON.stringify(batch ? { touchpoints } : touchpoints[0]);
  return { customerId, body, count, allHaveIds };
}

/** A touchpoint of a weighted random type, at a random time within the last maxAgeDays. */
function touchpoint(id, maxAgeDays) {
  let roll = Math.random() * TOTAL_WEIGHT;
  let entry = TYPES[0];
  for (const t of TYPES) {
    roll -= t[1];
    if (roll < 0) {
      entry = t;
      break;
    }
  }
  const type = entry[0];
  const channels = entry[2];
  const tp = {
    type,
    channel: channels[Math.floor(Math.random() * channels.length)],
    at: new Date(Date.now() - Math.random() * maxAgeDays * DAY_MS).toISOString(),
  };
  if (id !== undefined) tp.id = id;
  const properties = propertiesFor(type);
  if (properties !== null) tp.properties = properties;
  return tp;
}

function propertiesFor(type) {
  const category = CATEGORIES[Math.floor(Math.random() * CATEGORIES.length)];
  const sku = `TH-${category.toUpperCase()}-${100 + Math.floor(Math.random() * 900)}`;
  switch (type) {
    case 'page_view':
      return { path: `/p/${sku.toLowerCase()}`, category };
    case 'search':
      return { query: `${category} sale` };
    case 'cart_add':
      return { sku, category, price: 20 + Math.floor(Math.random() * 380), currency: 'USD' };
    case 'purchase':
      return { orderId: `o-${Math.floor(Math.random() * 1e9)}`, value: 30 + Math.floor(Math.random() * 600), currency: 'USD', categories: [category] };
    case 'email_open':
    case 'email_click':
      return { campaign: 'weekly-2026-47' };
    case 'support_ticket':
      return { reason: 'late-delivery' };
    default:
      return null;
  }
}

function parseJson(res) {
  try {
    return res.json();
  } catch (_) {
    return null;
  }
}

function positiveInt(value, fallback) {
  const n = parseInt(value || '', 10);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}
