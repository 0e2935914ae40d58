// Outcomes: what customers did with what decisions served, reported the way a
// site or an email platform would: decide, then send outcomes for what was served.
//
//   k6 run load/outcomes.js
//   k6 run -e BASE_URL=http://127.0.0.1:3000 -e API_KEY=... -e RATE=200 load/outcomes.js
//
// Environment:
//   BASE_URL    the service (default http://127.0.0.1:3000)
//   API_KEY     sent as "Authorization: Bearer <key>" when set (needs the decide and ingest scopes)
//   CUSTOMERS   customer ids c-0 .. c-<CUSTOMERS-1> (default 10000), the same pool as decisions.js
//   PLACEMENTS  comma-separated placements to decide (default home-hero,cart-sidebar)
//   RATE        peak iterations per second (default 100); STEADY how long to hold it (default 2m)
//
// Each iteration: one GET decision, then one POST /v1/outcomes with an impression
// for every item served; 20% of them add a click, 3% a conversion with a value, and
// 5% re-send the same body as a retrying sender would, which must come back as all
// duplicates. Every outcome refers to a real decision, so none may be refused.
import http from 'k6/http';
import { check } from 'k6';
import { Counter } from 'k6/metrics';

const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:3000').replace(/\/+$/, '');
const API_KEY = __ENV.API_KEY || '';
const CUSTOMERS = positiveInt(__ENV.CUSTOMERS, 10000);
const RATE = positiveInt(__ENV.RATE, 100);
const STEADY = __ENV.STEADY || '2m';
const PLACEMENTS = (__ENV.PLACEMENTS || 'home-hero,cart-sidebar').split(',').map((p) => p.trim()).filter(Boolean);
const RESEND_RATIO = 0.05;

const outcomesSent = new Counter('outcomes_sent');
const outcomesDuplicates = new Counter('outcomes_duplicates');

export const options = {
  scenarios: {
    outcomes: {
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
    'http_req_duration{name:POST /v1/outcomes}': ['p(99)<100'],
    checks: ['rate>0.999'],
  },
  summaryTrendStats: ['avg', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
};

const headers = API_KEY ? { 'Content-Type': 'application/json', Authorization: `Bearer ${API_KEY}` } : { 'Content-Type': 'application/json' };
const query = PLACEMENTS.map((p) => `placement=${encodeURIComponent(p)}`).join('&');

export default function () {
  const customerId = `c-${Math.floor(Math.random() * CUSTOMERS)}`;
  const res = http.get(`${BASE_URL}/v1/decisions/${customerId}?${query}&channel=web`, { headers, tags: { name: 'GET /v1/decisions/{id}' } });
  if (!check(res, { 'decision 200': (r) => r.status === 200 })) return;
  const decision = res.json();
  const outcomes = [];
  for (const placement of Object.keys(decision.placements)) {
    for (const item of decision.placements[placement].items) {
      const base = { decisionId: decision.decisionId, customerId, placement, item: item.id };
      outcomes.push({ ...base, kind: 'impression' });
      if (Math.random() < 0.2) outcomes.push({ ...base, kind: 'click' });
      if (Math.random() < 0.03) outcomes.push({ ...base, kind: 'conversion', value: Math.round(Math.random() * 20000) / 100 });
    }
  }
  if (outcomes.length === 0) return;
  const body = JSON.stringify({ outcomes });
  const post = () => http.post(`${BASE_URL}/v1/outcomes`, body, { headers, tags: { name: 'POST /v1/outcomes' } });
  const first = post();
  check(first, { 'outcomes 202': (r) => r.status === 202, 'none refused': (r) => r.status !== 400 });
  outcomesSent.add(outcomes.length);
  if (first.status === 202 && Math.random() < RESEND_RATIO) {
    const again = post();
    check(again, { 're-send: all duplicates': (r) => r.status === 202 && r.json('duplicates') === outcomes.length });
    if (again.status === 202) outcomesDuplicates.add(again.json('duplicates'));
  }
}

function positiveInt(value, fallback) {
  const n = Number.parseInt(value ?? '', 10);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}
