/** Placement reports (contract section 9). */
import type { Context } from 'hono';
import { DAY_PATTERN, MAX_REPORT_DAYS, placementReportSchema, REPORT_CSV_HEADER, type PlacementReport } from '../domain/report.js';
import type { FieldError } from '../domain/errors.js';
import { buildPlacementReport, reportCsv } from '../reports/placement-report.js';
import { addDays, dayOf, dayStart, DAY_MS } from '../reports/report-store.js';
import { notFoundProblem, PROBLEM_TYPES, validationProblem } from './problem.js';
import { rejectMalformedQuery } from './request-body.js';
import { jsonAnswer } from './request-log.js';
import { defineRoute } from './route.js';

const REPORT_EXAMPLE = {
  placement: 'home-hero',
  from: '2026-11-25',
  to: '2026-12-01',
  rows: [
    {
      rule: 'cart-abandoners',
      item: 'hero-cart',
      served: 1200,
      impressions: 1000,
      clicks: 42,
      conversions: 7,
      dismisses: 3,
      value: 418.5,
      ctr: { rate: 0.042, low: 0.0312, high: 0.0564 },
      conversionRate: { rate: 0.007, low: 0.0034, high: 0.0144 },
      days: [{ day: '2026-12-01', served: 1200, impressions: 1000, clicks: 42, conversions: 7, dismisses: 3, value: 418.5 }],
    },
  ],
} satisfies PlacementReport;

export const reportRoutes = [
  defineRoute({
    method: 'GET',
    path: '/v1/reports/placements/:placement',
    scope: 'admin',
    handler: (deps) => async (c) => {
      rejectMalformedQuery(c.req.url, (key) => `$.${key}`);
      const name = c.req.param('placement') ?? '';
      const { from, to, format } = parseQuery(c, deps.now());
      const placement = deps.snapshot().placements.get(name);
      if (!placement) throw notFoundProblem(`no placement "${name}" in the loaded rules`);
      // This replica's counts so far go to the store first, so its own decisions are in the report.
      await deps.reports.served.flush();
      const rows = await deps.reports.store.query(name, from, to);
      const report = buildPlacementReport(rows, { placement: name, from, to, ...(placement.optimize ? { goal: placement.optimize.goal } : {}) });
      if (format === 'csv') {
        return c.body(reportCsv(report), 200, {
          'Content-Type': 'text/csv; charset=utf-8; header=present',
          'Content-Disposition': `attachment; filename="${name}-${from}-${to}.csv"`,
        });
      }
      return jsonAnswer(c, JSON.stringify(report));
    },
    doc: {
      operationId: 'placementReport',
      summary: 'Report on a placement',
      description: `What each rule and item of the placement served, and what customers did with it, over UTC days from \`from\` to \`to\` (both inclusive; \`to\` defaults to today, \`from\` to six days before \`to\`; at most ${MAX_REPORT_DAYS} days). \`ctr\` and \`conversionRate\` are over impressions, with their 95% Wilson score interval (null with no impressions). \`served\` is counted in each replica and sent to the store every 10 s, so it may lag by that much. A placement with \`optimize\` adds the totals of each ranking arm and the lift of optimized over priority on its goal rate. \`?format=csv\` answers the rows as CSV.`,
      tag: 'reports',
      query: [
        {
          name: 'from',
          in: 'query',
          required: false,
          description: 'The first UTC day, YYYY-MM-DD (default: six days before `to`).',
          schema: { type: 'string', pattern: DAY_PATTERN.source },
          examples: { day: { value: '2026-11-25' } },
        },
        {
          name: 'to',
          in: 'query',
          required: false,
          description: 'The last UTC day, YYYY-MM-DD (default: today).',
          schema: { type: 'string', pattern: DAY_PATTERN.source },
          examples: { day: { value: '2026-12-01' } },
        },
        {
          name: 'format',
          in: 'query',
          required: false,
          description: `csv: the rows as CSV (RFC 4180) with the header ${REPORT_CSV_HEADER.join(',')}; empty cells for null.`,
          schema: { type: 'string', enum: ['json', 'csv'] },
          examples: { csv: { value: 'csv' } },
        },
      ],
      pathParameters: { placement: 'Placement' },
      responses: {
        200: {
          description: 'The report.',
          json: placementReportSchema,
          example: REPORT_EXAMPLE,
          alsoContent: { 'text/csv': { schema: { type: 'string', description: `With ?format=csv: a header row ${REPORT_CSV_HEADER.join(',')}, then one row per rule and item.` } } },
        },
        400: {
          description: 'A date that is not a UTC day, `from` after `to`, a range over the limit, or an unknown format: each named in `errors`.',
          problems: {
            badDate: {
              type: PROBLEM_TYPES.validation,
              title: 'Invalid request',
              status: 400,
              detail: '$.from: must be a date YYYY-MM-DD',
              errors: [{ path: '$.from', message: 'must be a date YYYY-MM-DD' }],
            },
          },
        },
        404: 'NotFound',
        503: 'NotReady',
      },
    },
  }),
];

interface ReportQuery {
  from: string;
  to: string;
  format: 'json' | 'csv';
}

function parseQuery(c: Context, now: number): ReportQuery {
  const errors: FieldError[] = [];
  const day = (key: 'from' | 'to'): string | undefined => {
    const value = c.req.query(key);
    if (value === undefined) return undefined;
    if (!DAY_PATTERN.test(value) || dayOf(dayStart(value) || 0) !== value || Number.isNaN(dayStart(value))) {
      errors.push({ path: `$.${key}`, message: 'must be a date YYYY-MM-DD' });
      return undefined;
    }
    return value;
  };
  const givenTo = day('to');
  const givenFrom = day('from');
  const asked = c.req.query('format') ?? 'json';
  const format = asked === 'csv' ? 'csv' : 'json';
  if (asked !== 'json' && asked !== 'csv') errors.push({ path: '$.format', message: 'must be json or csv' });
  if (errors.length === 0) {
    const to = givenTo ?? dayOf(now);
    const from = givenFrom ?? addDays(to, -6);
    if (from > to) errors.push({ path: '$.from', message: `must not be after to (${to})` });
    else if ((dayStart(to) - dayStart(from)) / DAY_MS + 1 > MAX_REPORT_DAYS) {
      errors.push({ path: '$.from', message: `the range may cover at most ${MAX_REPORT_DAYS} days` });
    }
    if (errors.length === 0) return { from, to, format };
  }
  throw validationProblem(`${errors[0]?.path}: ${errors[0]?.message}`, errors);
}

