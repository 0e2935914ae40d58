/**
 * Report aggregates in memory: for tests and single-process deployments
 * without persistence (STORE=memory), where nothing outlives the process anyway.
 */
import type { OptimizeGoal, RankingArm, ReportCounters } from '../domain/report.js';
import {
  applyOutcome,
  COUNTER_OF_GOAL,
  dayOf,
  emptyCounters,
  firstKeptDay,
  outcomeKey,
  type GoalCounts,
  type ReportDayRow,
  type ReportOutcome,
  type ReportStore,
  type ReportStoreOptions,
  type ServedCount,
} from './report-store.js';

interface Row extends ReportCounters {
  rule: string | null;
  item: string;
  arm: RankingArm | null;
}

interface DayBucket {
  /** Keyed by JSON [rule, item, arm]; each row keeps its own fields, so reading needs no parsing. */
  rows: Map<string, Row>;
  /** outcomeKey of every outcome counted in this day. */
  counted: Set<string>;
}

export function createMemoryReportStore(options: ReportStoreOptions): ReportStore {
  const clock = options.now ?? Date.now;
  /** placement → day → bucket. */
  const placements = new Map<string, Map<string, DayBucket>>();
  let closed = false;

  const kept = (day: string): boolean => day >= firstKeptDay(clock(), options.retentionDays);

  function bucket(placement: string, day: string): DayBucket {
    let days = placements.get(placement);
    if (!days) placements.set(placement, (days = new Map()));
    let found = days.get(day);
    if (!found) days.set(day, (found = { rows: new Map(), counted: new Set() }));
    return found;
  }

  function counters(found: DayBucket, rule: string | null, item: string, arm: RankingArm | null): ReportCounters {
    const key = JSON.stringify([rule, item, arm]);
    let row = found.rows.get(key);
    if (!row) found.rows.set(key, (row = { rule, item, arm, ...emptyCounters() }));
    return row;
  }

  function assertOpen(): void {
    if (closed) throw new Error('the memory report store is closed');
  }

  return {
    kind: 'memory',
    async addServed(counts: readonly ServedCount[]) {
      assertOpen();
      for (const c of counts) {
        if (!kept(c.day)) continue;
        counters(bucket(c.placement, c.day), c.rule, c.item, c.arm).served += c.count;
      }
    },
    async recordOutcomes(outcomes: readonly ReportOutcome[]) {
      assertOpen();
      for (const o of outcomes) {
        const day = dayOf(o.at);
        if (!kept(day)) continue;
        const found = bucket(o.placement, day);
        const key = outcomeKey(o);
        if (found.counted.has(key)) continue;
        found.counted.add(key);
        applyOutcome(counters(found, o.rule, o.item, o.arm ?? null), o, 1);
      }
    },
    async forgetOutcomes(outcomes: readonly ReportOutcome[]) {
      assertOpen();
      for (const o of outcomes) {
        const found = placements.get(o.placement)?.get(dayOf(o.at));
        if (!found || !found.counted.delete(outcomeKey(o))) continue;
        applyOutcome(counters(found, o.rule, o.item, o.arm ?? null), o, -1);
      }
    },
    async query(placement: string, fromDay: string, toDay: string) {
      assertOpen();
      const rows: ReportDayRow[] = [];
      for (const [day, found] of placements.get(placement) ?? []) {
        if (day < fromDay || day > toDay) continue;
        for (const row of found.rows.values()) rows.push({ ...row, day });
      }
      return rows;
    },
    async goalStats(placement: string, goal: OptimizeGoal, sinceDay: string) {
      assertOpen();
      const counter = COUNTER_OF_GOAL[goal];
      const stats = new Map<string, GoalCounts>();
      for (const [day, found] of placements.get(placement) ?? []) {
        if (day < sinceDay) continue;
        for (const row of found.rows.values()) {
          const s = stats.get(row.item) ?? { goals: 0, impressions: 0 };
          s.goals += row[counter];
          s.impressions += row.impressions;
          stats.set(row.item, s);
        }
      }
      return stats;
    },
    async sweepExpired(now: number) {
      const first = firstKeptDay(now, options.retentionDays);
      let dropped = 0;
      for (const days of placements.values()) {
        for (const [day, found] of days) {
          if (day >= first) continue;
          dropped += found.rows.size;
          days.delete(day);
        }
      }
      return dropped;
    },
    async ping() {
      assertOpen();
    },
    async close() {
      closed = true;
    },
  };
}
