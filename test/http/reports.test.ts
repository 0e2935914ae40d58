/* eslint-disable @typescript-eslint/no-explicit-any -- answers read loosely, as the other HTTP tests read them */
/**
 * GET /v1/reports/placements/{placement} (contract section 9), in-process:
 * served counts from real decisions, outcomes counted through the report
 * store, the range's defaults and limits, CSV, and the arms and lift of an
 * optimized placement.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/decide/sampling.js';
import { REPORT_CSV_HEADER } from '../../src/domain/report.js';
import { createApp } from '../../src/http/app.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createMemoryStore } from '../../src/profiles/memory-store.js';
import { createRuleRegistry } from '../../src/reload/registry.js';
import { createMemoryReportStore } from '../../src/reports/memory-report-store.js';
import { createReports, type Reports } from '../../src/reports/reports.js';
import type { ReportOutcome } from '../../src/reports/report-store.js';

const NOW = Date.parse('2026-03-10T12:00:00Z');
const DAY = 24 * 60 * 60 * 1000;

const serve = (name: string, priority: number, items: string[], conditions: unknown = { all: [] }) => ({
  name,
  priority,
  conditions,
  event: { type: 'serve', params: { items } },
});

const FILES: Record<string, unknown> = {
  'catalog.json': {
    items: [
      { id: 'a', kind: 'offer' },
      { id: 'b', kind: 'offer' },
      { id: 'fb', kind: 'content' },
    ],
  },
  'placements/plain.json': {
    placement: 'plain',
    fallback: ['fb'],
    rules: [serve('web-only', 2, ['a'], { all: [{ fact: 'context', path: '$.channel', operator: 'equal', value: 'web' }] })],
  },
  'placements/opt.json': { placement: 'opt', rules: [serve('first', 2, ['a']), serve('second', 1, ['b'])], optimize: { goal: 'click', explore: 0.5 } },
};

let dir: string;
let reports: Reports;
let app: ReturnType<typeof createApp>;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nextbest-reports-'));
  for (const [file, content] of Object.entries(FILES)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), JSON.stringify(content));
  }
  const registry = createRuleRegistry({ dir, logger: silentLogger });
  await registry.reload();
  const now = () => NOW;
  reports = createReports({ store: createMemoryReportStore({ retentionDays: 410, now }), rules: () => registry.current, now });
  app = createApp({ rules: registry, store: createMemoryStore({ retentionDays: 30, maxTouchpointsPerProfile: 100, now }), logger: silentLogger, now, reports, random: seededRandom(3) });
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const get = (url: string) => app.request(url);
const decideFor = (customerId: string, placement: string, query = '') => get(`/v1/decisions/${customerId}?placement=${placement}${query}`);

function outcome(overrides: Partial<ReportOutcome>): ReportOutcome {
  return { customerId: 'c-1', decisionId: 'd-1', placement: 'plain', item: 'a', rule: 'web-only', arm: null, kind: 'impression', at: NOW, value: null, ...overrides };
}

describe('placement reports', () => {
  it('counts served items of real decisions, and outcomes, with Wilson intervals and days', async () => {
    for (let i = 0; i < 4; i++) expect((await decideFor(`c-${i}`, 'plain', '&channel=web')).status).toBe(200);
    expect((await decideFor('c-9', 'plain', '&channel=email')).status).toBe(200);
    await reports.store.recordOutcomes([
      outcome({ customerId: 'c-0' }),
      outcome({ customerId: 'c-1' }),
      outcome({ customerId: 'c-1', kind: 'click' }),
      outcome({ customerId: 'c-1', kind: 'conversion', value: 20 }),
      // Sent twice (a retried request): counted once.
      outcome({ customerId: 'c-1', kind: 'conversion', value: 20 }),
      outcome({ customerId: 'c-2', at: NOW - DAY }),
    ]);
    const res = await get('/v1/reports/placements/plain');
    expect(res.status).toBe(200);
    const report = (await res.json()) as any;
    expect(report).toMatchObject({ placement: 'plain', from: '2026-03-04', to: '2026-03-10' });
    expect(report.rows).toEqual([
      {
        rule: 'web-only',
        item: 'a',
        served: 4,
        impressions: 3,
        clicks: 1,
        conversions: 1,
        dismisses: 0,
        value: 20,
        ctr: { rate: 1 / 3, low: expect.closeTo(0.0615, 3), high: expect.closeTo(0.7923, 3) },
        conversionRate: { rate: 1 / 3, low: expect.any(Number), high: expect.any(Number) },
        days: [
          { day: '2026-03-09', served: 0, impressions: 1, clicks: 0, conversions: 0, dismisses: 0, value: 0 },
          { day: '2026-03-10', served: 4, impressions: 2, clicks: 1, conversions: 1, dismisses: 0, value: 20 },
        ],
      },
      {
        rule: null,
        item: 'fb',
        served: 1,
        impressions: 0,
        clicks: 0,
        conversions: 0,
        dismisses: 0,
        value: 0,
        ctr: null,
        conversionRate: null,
        days: [{ day: '2026-03-10', served: 1, impressions: 0, clicks: 0, conversions: 0, dismisses: 0, value: 0 }],
      },
    ]);
    expect(report.arms).toBeUndefined();
    // A range that leaves out today leaves out today's rows.
    const earlier = (await (await get('/v1/reports/placements/plain?from=2026-03-01&to=2026-03-09')).json()) as any;
    expect(earlier.rows.map((r: { item: string; impressions: number }) => [r.item, r.impressions])).toEqual([['a', 1]]);
  });

  it('answers the same rows as CSV (RFC 4180), header first, empty cells for null', async () => {
    const res = await get('/v1/reports/placements/plain?format=csv');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    const text = await res.text();
    expect(text.split('\r\n')[0]).toBe(REPORT_CSV_HEADER.join(','));
    const records = parse(text, { columns: true }) as Array<Record<string, string>>;
    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({ rule: 'web-only', item: 'a', served: '4', impressions: '3', clicks: '1', value: '20' });
    expect(Number(records[0]!.ctrLow)).toBeCloseTo(0.0615, 3);
    expect(records[1]).toMatchObject({ rule: '', item: 'fb', served: '1', ctr: '', ctrLow: '', ctrHigh: '', conversionRate: '' });
  });

  it('gives an optimized placement the totals of each arm and the lift on its goal', async () => {
    const arms = { optimized: 0, priority: 0 };
    for (let i = 0; i < 40; i++) {
      const decision = (await (await decideFor(`o-${i}`, 'opt')).json()) as any;
      const placement = decision.placements.opt;
      arms[placement.ranking as 'optimized' | 'priority'] += 1;
      const [item] = placement.items;
      const base = { customerId: `o-${i}`, decisionId: decision.decisionId, placement: 'opt', item: item.id, rule: item.rule, arm: placement.ranking };
      const shown = outcome({ ...base, kind: 'impression' });
      // The optimized arm's customers click every other time, the control arm's one time in four.
      const clicks = placement.ranking === 'optimized' ? i % 2 === 0 : i % 4 === 0;
      await reports.store.recordOutcomes(clicks ? [shown, outcome({ ...base, kind: 'click' })] : [shown]);
    }
    expect(arms.optimized).toBeGreaterThan(5);
    expect(arms.priority).toBeGreaterThan(5);
    const report = (await (await get('/v1/reports/placements/opt')).json()) as any;
    expect(report.goal).toBe('click');
    expect(report.arms.optimized.served + report.arms.priority.served).toBe(40);
    expect(report.arms.optimized.impressions).toBe(arms.optimized);
    expect(report.arms.priority.impressions).toBe(arms.priority);
    const rate = (arm: { clicks: number; impressions: number }) => arm.clicks / arm.impressions;
    expect(report.arms.optimized.ctr.rate).toBeCloseTo(rate(report.arms.optimized), 10);
    expect(report.lift.rate).toBeCloseTo(rate(report.arms.optimized) / rate(report.arms.priority) - 1, 10);
    expect(report.lift.low).toBeLessThan(report.lift.rate);
    expect(report.lift.high).toBeGreaterThan(report.lift.rate);
  });

  it('ranks by the statistics refreshed from the store', async () => {
    await reports.store.recordOutcomes(
      Array.from({ length: 200 }, (_, i) => [
        outcome({ customerId: `s-${i}`, placement: 'opt', item: 'b', rule: 'second', arm: 'optimized' }),
        outcome({ customerId: `s-${i}`, placement: 'opt', item: 'b', rule: 'second', arm: 'optimized', kind: 'click' }),
        outcome({ customerId: `s-${i}`, placement: 'opt', item: 'a', rule: 'first', arm: 'optimized' }),
      ]).flat(),
    );
    await reports.goalStats.refresh();
    expect(reports.goalStats.get('opt')?.get('b')).toMatchObject({ goals: expect.any(Number), impressions: expect.any(Number) });
    let optimizedB = 0;
    let optimized = 0;
    for (let i = 0; i < 30; i++) {
      const placement = ((await (await decideFor(`t-${i}`, 'opt')).json()) as any).placements.opt;
      if (placement.ranking !== 'optimized') continue;
      optimized++;
      if (placement.items[0].id === 'b') optimizedB++;
    }
    expect(optimized).toBeGreaterThan(5);
    expect(optimizedB).toBe(optimized);
  });

  it('counts outcomes sent to POST /v1/outcomes once, retries included, and a deleted customer\'s outcomes leave the counters', async () => {
    const before = ((await (await get('/v1/reports/placements/plain?from=2026-03-10')).json()) as any).rows[0];
    const decision = (await (await decideFor('e2e', 'plain', '&channel=web')).json()) as any;
    const sent = { decisionId: decision.decisionId, customerId: 'e2e', placement: 'plain', item: 'a', at: new Date(NOW).toISOString() };
    const post = (body: unknown) => app.request('/v1/outcomes', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const batch = { outcomes: [{ ...sent, kind: 'impression' }, { ...sent, kind: 'conversion', value: 12.5 }] };
    expect((await post(batch)).status).toBe(202);
    // The same request again (a client retrying): the profile says duplicates, the counters do not move.
    expect(await (await post(batch)).json()).toEqual({ accepted: 0, duplicates: 2 });
    const after = ((await (await get('/v1/reports/placements/plain?from=2026-03-10')).json()) as any).rows[0];
    expect(after.served - before.served).toBe(1);
    expect([after.impressions - before.impressions, after.conversions - before.conversions, after.value - before.value]).toEqual([1, 1, 12.5]);

    expect((await app.request('/v1/customers/e2e', { method: 'DELETE' })).status).toBe(204);
    const erased = ((await (await get('/v1/reports/placements/plain?from=2026-03-10')).json()) as any).rows[0];
    expect([erased.impressions, erased.conversions, erased.value]).toEqual([before.impressions, before.conversions, before.value]);
  });

  it.each([
    ['from=2026-3-01', '$.from', 'YYYY-MM-DD'],
    ['to=2026-02-30', '$.to', 'YYYY-MM-DD'],
    ['from=2026-03-10&to=2026-03-09', '$.from', 'after'],
    ['from=2025-02-03&to=2026-03-10', '$.from', '400 days'],
    ['format=xml', '$.format', 'json or csv'],
  ])('answers 400 for ?%s, naming %s', async (query, at, message) => {
    const res = await get(`/v1/reports/placements/plain?${query}`);
    expect(res.status).toBe(400);
    const problem = (await res.json()) as any;
    expect(problem.errors[0].path).toBe(at);
    expect(problem.errors[0].message).toContain(message);
  });

  it('takes 400 days exactly, and answers 404 for a placement not in the rules', async () => {
    expect((await get('/v1/reports/placements/plain?from=2025-02-04&to=2026-03-10')).status).toBe(200);
    const res = await get('/v1/reports/placements/nowhere');
    expect(res.status).toBe(404);
  });
});
