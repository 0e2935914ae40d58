/**
 * Report aggregates in SQLite, in the profile store's database file (its own
 * tables and its own connection; WAL lets both write in turn). One row per
 * placement, day, rule, item and arm; null rule and arm are stored as '' so
 * the primary key holds (SQLite treats NULLs in a key as distinct). Each call
 * is one transaction, so a batch of outcomes is counted all or none.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { StoreUnavailableError } from '../domain/errors.js';
import type { OptimizeGoal, RankingArm } from '../domain/report.js';
import {
  COUNTER_OF_GOAL,
  COUNTER_OF_KIND,
  dayOf,
  firstKeptDay,
  outcomeKey,
  type GoalCounts,
  type ReportDayRow,
  type ReportOutcome,
  type ReportStore,
  type ReportStoreOptions,
  type ServedCount,
} from './report-store.js';

export interface SqliteReportStoreOptions extends ReportStoreOptions {
  /** The database file (the profile store's); its folder is created when missing. */
  path: string;
  busyTimeoutMs?: number;
}

// Created if missing, beside the profile store's tables, whose schema version (user_version) they leave alone.
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS report_counters (
    placement TEXT NOT NULL,
    day TEXT NOT NULL,
    rule TEXT NOT NULL,
    item TEXT NOT NULL,
    arm TEXT NOT NULL,
    served INTEGER NOT NULL DEFAULT 0,
    impressions INTEGER NOT NULL DEFAULT 0,
    clicks INTEGER NOT NULL DEFAULT 0,
    conversions INTEGER NOT NULL DEFAULT 0,
    dismisses INTEGER NOT NULL DEFAULT 0,
    value REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (placement, day, rule, item, arm)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS report_counters_day ON report_counters (day);
  CREATE TABLE IF NOT EXISTS report_outcomes (
    placement TEXT NOT NULL,
    day TEXT NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (placement, day, key)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS report_outcomes_day ON report_outcomes (day);
`;

/** SQLite failures that say "the store cannot serve now" (as the profile store reads them): a 503, not a 500. */
const UNAVAILABLE_CODES = ['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_IOERR', 'SQLITE_FULL', 'SQLITE_CANTOPEN', 'SQLITE_READONLY', 'SQLITE_PROTOCOL', 'SQLITE_NOMEM'];

function unavailable<T>(file: string, call: () => T): T {
  try {
    return call();
  } catch (error) {
    if (error instanceof Database.SqliteError && UNAVAILABLE_CODES.some((code) => error.code.startsWith(code))) {
      throw new StoreUnavailableError(`SQLite report store ${file}: ${error.message}`, { cause: error });
    }
    throw error;
  }
}

type OutcomeParams = [placement: string, day: string, rule: string, item: string, arm: string, count: number, value: number];
type CounterRow = [rule: string, item: string, arm: string, day: string, served: number, impressions: number, clicks: number, conversions: number, dismisses: number, value: number];

export function createSqliteReportStore(options: SqliteReportStoreOptions): ReportStore {
  if (options.path !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(options.path)), { recursive: true });
  const db = new Database(options.path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
  db.exec(SCHEMA);
  const clock = options.now ?? Date.now;
  const kept = (day: string): boolean => day >= firstKeptDay(clock(), options.retentionDays);

  const addServed = db.prepare<[string, string, string, string, string, number]>(
    `INSERT INTO report_counters (placement, day, rule, item, arm, served) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT DO UPDATE SET served = served + excluded.served`,
  );
  const markCounted = db.prepare<[string, string, string]>('INSERT INTO report_outcomes (placement, day, key) VALUES (?, ?, ?) ON CONFLICT DO NOTHING');
  const unmarkCounted = db.prepare<[string, string, string]>('DELETE FROM report_outcomes WHERE placement = ? AND day = ? AND key = ?');
  // One statement per counter: the column cannot be a parameter.
  const addOutcome = Object.fromEntries(
    Object.values(COUNTER_OF_KIND).map((column) => [
      column,
      db.prepare<OutcomeParams>(
        `INSERT INTO report_counters (placement, day, rule, item, arm, ${column}, value) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT DO UPDATE SET ${column} = max(0, ${column} + excluded.${column}), value = max(0.0, value + excluded.value)`,
      ),
    ]),
  ) as Record<string, Database.Statement<OutcomeParams>>;
  const selectRange = db
    .prepare<[string, string, string], CounterRow>(
      `SELECT rule, item, arm, day, served, impressions, clicks, conversions, dismisses, value
       FROM report_counters WHERE placement = ? AND day >= ? AND day <= ?`,
    )
    .raw(true);
  const selectGoal = Object.fromEntries(
    Object.values(COUNTER_OF_GOAL).map((column) => [
      column,
      db
        .prepare<[string, string], [string, number, number]>(
          `SELECT item, sum(${column}), sum(impressions) FROM report_counters WHERE placement = ? AND day >= ? GROUP BY item`,
        )
        .raw(true),
    ]),
  ) as Record<string, Database.Statement<[string, string], [string, number, number]>>;
  const deleteCounters = db.prepare<[string]>('DELETE FROM report_counters WHERE day < ?');
  const deleteMarks = db.prepare<[string]>('DELETE FROM report_outcomes WHERE day < ?');

  const served = db.transaction((counts: readonly ServedCount[]) => {
    for (const c of counts) if (kept(c.day)) addServed.run(c.placement, c.day, c.rule ?? '', c.item, c.arm ?? '', c.count);
  });
  const count = db.transaction((outcomes: readonly ReportOutcome[], sign: 1 | -1) => {
    for (const o of outcomes) {
      const day = dayOf(o.at);
      if (sign === 1) {
        if (!kept(day) || markCounted.run(o.placement, day, outcomeKey(o)).changes === 0) continue;
      } else if (unmarkCounted.run(o.placement, day, outcomeKey(o)).changes === 0) continue;
      const value = sign * (o.value ?? 0);
      (addOutcome[COUNTER_OF_KIND[o.kind]] as Database.Statement<OutcomeParams>).run(o.placement, day, o.rule ?? '', o.item, o.arm ?? '', sign, value);
    }
  });

  return {
    kind: 'sqlite',
    async addServed(counts) {
      unavailable(options.path, () => served(counts));
    },
    async recordOutcomes(outcomes) {
      unavailable(options.path, () => count(outcomes, 1));
    },
    async forgetOutcomes(outcomes) {
      unavailable(options.path, () => count(outcomes, -1));
    },
    async query(placement, fromDay, toDay) {
      return selectRange.all(placement, fromDay, toDay).map(
        ([rule, item, arm, day, served, impressions, clicks, conversions, dismisses, value]): ReportDayRow => ({
          rule: rule === '' ? null : rule,
          item,
          arm: arm === '' ? null : (arm as RankingArm),
          day,
          served,
          impressions,
          clicks,
          conversions,
          dismisses,
          value,
        }),
      );
    },
    async goalStats(placement: string, goal: OptimizeGoal, sinceDay: string) {
      const stats = new Map<string, GoalCounts>();
      for (const [item, goals, impressions] of (selectGoal[COUNTER_OF_GOAL[goal]] as Database.Statement<[string, string], [string, number, number]>).all(placement, sinceDay)) {
        stats.set(item, { goals, impressions });
      }
      return stats;
    },
    async sweepExpired(now) {
      const first = firstKeptDay(now, options.retentionDays);
      return db.transaction(() => {
        const dropped = deleteCounters.run(first).changes;
        deleteMarks.run(first);
        return dropped;
      })();
    },
    async ping() {
      db.prepare('SELECT 1').get();
    },
    async close() {
      if (db.open) db.close();
    },
  };
}
