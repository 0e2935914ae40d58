// Render-time decisions: what a website asks for on every page view.
//
//   k6 run load/decisions.js
//   k6 run -e BASE_URL=https://nextbest.staging.example.com -e API_KEY=... -e VUS=100 load/decisions.js
//
// Environment:
//   BASE_URL   the service (default http://127.0.0.1:3000)
//   API_KEY    sent as "Authorization: Bearer <key>" when set (needs the decide scope)
//   CUSTOMERS  size of the customer id pool c-0 .. c-<CUSTOMERS-1> (default 10000); ids
//              never ingested are valid (new visitors), so the test runs on an empty store,
//              but run load/ingest.js or load/email-batch.js first for realistic profiles
//   VUS        peak virtual users (default 50); STEADY how long to hold the peak (default 2m)
//
// Fails (non-zero exit) when more than 0.1% of requests fail or p(99) latency is 10 ms or more.
import http from 'k6/http';
import { check } from 'k6';

const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:3000').replace(/\/+$/, '');
const API_KEY = __ENV.API_KEY || '';
const CUSTOMERS = positiveInt(__ENV.CUSTOMERS, 10000);
const VUS = positiveInt(__ENV.VUS, 50);
const STEADY = __ENV.STEADY || '2m';

const PLACEMENTS = ['home-hero', 'cart-sidebar'];
const DEVICES = ['desktop', 'desktop', 'mobile', 'mobile', 'mobile', 'tablet'];

export const options = {
  scenarios: {
    render: {
      executor: 'ramping-vus',
      startVUs: 0,
      stages: [
        { duration: '30s', target: Math.ceil(VUS / 5) },
        { duration: '30s', target: VUS },
        { duration: STEADY, target: VUS },
        { duration: '15s', target: 0 },
      ],
      gracefulRampDown: '10s',
    },
  },
  thresholds: {
    http_req_failed: ['rate<0.001'],
    http_req_duration: ['p(99)<10'],
    checks: ['rate>0.999'],
  },
  summaryTrendStats: ['avg', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
};

const params = {
  headers: API_KEY ? { Accept: 'application/json', Authorization: `Bearer ${API_KEY}` } : { Accept: 'application/json' },
  // One metric series for all customers instead of one per URL.
  tags: { name: 'GET /v1/decisions/{customerId}' },
};

export default function () {
  const customerId = `c-${pickCustomer()}`;
  const device = DEVICES[Math.floor(Math.random() * DEVICES.length)];
  const query = PLACEMENTS.map((p) => `placement=${p}`).join('&');
  const res = http.get(`${BASE_URL}/v1/decisions/${customerId}?${query}&channel=web&device=${device}`, params);

  const body = parseJson(res);
  check(res, {
    'status is 200': (r) => r.status === 200,
    'decision names the customer': () => body !== null && body.customerId === customerId && typeof body.decisionId === 'string',
    'decision has a stage': () => body !== null && typeof body.stage === 'string' && typeof body.rulesVersion === 'string',
    'every placement has items and fallback': () =>
      body !== null &&
      body.placements !== null &&
      typeof body.placements === 'object' &&
      PLACEMENTS.every((p) => {
        const placement = body.placements[p];
        return placement !== undefined && Array.isArray(placement.items) && typeof placement.fallback === 'boolean';
      }),
  });
}

/** 80% of requests go to the first 20% of customers: regular visitors keep the profile cache warm, as in production. */
function pickCustomer() {
  const hot = Math.max(1, Math.floor(CUSTOMERS / 5));
  return Math.random() < 0.8 ? Math.floor(Math.random() * hot) : Math.floor(Math.random() * CUSTOMERS);
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
