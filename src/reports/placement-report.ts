/**
 * A placement's report from its day rows (contract section 9): one row per
 * rule and item with its days, rates with 95% Wilson intervals, and for an
 * optimized placement the totals of each arm and the lift between them. Pure.
 */
import { stringify } from 'csv-stringify/sync';
import {
  REPORT_CSV_HEADER,
  type OptimizeGoal,
  type PlacementReport,
  type RateInterval,
  type ReportCounters,
  type ReportRow,
  type ReportTotals,
} from '../domain/report.js';
import { liftInterval, wilsonInterval } from './intervals.js';
import { addCounters, COUNTER_OF_GOAL, emptyCounters, type ReportDayRow } from './report-store.js';

export interface ReportRange {
  placement: string;
  from: string;
  to: string;
  /** The placement's optimize goal; absent for a placement without optimize. */
  goal?: OptimizeGoal;
}

interface RowEntry {
  rule: string | null;
  item: string;
  totals: ReportCounters;
  days: Map<string, ReportDay>;
}

type ReportDay = ReportCounters & { day: string };

export function buildPlacementReport(dayRows: readonly ReportDayRow[], range: ReportRange): PlacementReport {
  // By rule (null for the fallback: a Map key like any other), then item: no key strings to build for 20,000 rows.
  const byRule = new Map<string | null, Map<string, RowEntry>>();
  const arms = { optimized: emptyCounters(), priority: emptyCounters() };
  for (const row of dayRows) {
    let byItem = byRule.get(row.rule);
    if (!byItem) byRule.set(row.rule, (byItem = new Map()));
    let entry = byItem.get(row.item);
    if (!entry) byItem.set(row.item, (entry = { rule: row.rule, item: row.item, totals: emptyCounters(), days: new Map() }));
    addCounters(entry.totals, row);
    let day = entry.days.get(row.day);
    if (!day) entry.days.set(row.day, (day = { day: row.day, ...emptyCounters() }));
    addCounters(day, row);
    if (row.arm !== null) addCounters(arms[row.arm], row);
  }
  const entries: RowEntry[] = [];
  for (const byItem of byRule.values()) entries.push(...byItem.values());
  const rows: ReportRow[] = entries.sort(byRuleThenItem).map((entry) => ({
    rule: entry.rule,
    item: entry.item,
    ...withRates(entry.totals),
    days: [...entry.days.values()].sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0)),
  }));
  const report: PlacementReport = { placement: range.placement, from: range.from, to: range.to, rows };
  if (range.goal === undefined) return report;
  const goal = COUNTER_OF_GOAL[range.goal];
  const { optimized, priority } = arms;
  return {
    ...report,
    goal: range.goal,
    arms: { optimized: withRates(optimized), priority: withRates(priority) },
    lift: liftInterval(optimized[goal], optimized.impressions, priority[goal], priority.impressions),
  };
}

function withRates(counters: ReportCounters): ReportTotals {
  return {
    ...counters,
    ctr: wilsonInterval(counters.clicks, counters.impressions),
    conversionRate: wilsonInterval(counters.conversions, counters.impressions),
  };
}

/** Rules by name, the fallback (null) last; items by id within a rule. */
function byRuleThenItem(a: { rule: string | null; item: string }, b: { rule: string | null; item: string }): number {
  if (a.rule !== b.rule) {
    if (a.rule === null) return 1;
    if (b.rule === null) return -1;
    return a.rule < b.rule ? -1 : 1;
  }
  return a.item < b.item ? -1 : a.item > b.item ? 1 : 0;
}

/** The report's rows as CSV (RFC 4180: CRLF line ends, quotes where needed), a header row first, empty cells for null. */
export function reportCsv(report: PlacementReport): string {
  const cells = (rate: RateInterval) => (rate === null ? ['', '', ''] : [rate.rate, rate.low, rate.high]);
  const records = report.rows.map((row) => [
    row.rule ?? '',
    row.item,
    row.served,
    row.impressions,
    row.clicks,
    row.conversions,
    row.dismisses,
    row.value,
    ...cells(row.ctr),
    ...cells(row.conversionRate),
  ]);
  return stringify([[...REPORT_CSV_HEADER], ...records], { record_delimiter: '\r\n' });
}
