/**
 * Where report aggregates live (contract section 9): counters per placement,
 * rule, item, ranking arm and UTC day. The port, and what its adapters
 * (memory, SQLite, Redis) share: day arithmetic, the keys that make outcome
 * counting idempotent, and folding counters.
 */
import { createHash } from 'node:crypto';
import type { OutcomeKind } from '../domain/outcome.js';
import type { GoalCounts, OptimizeGoal, RankingArm, ReportCounters } from '../domain/report.js';

export const DAY_MS = 24 * 60 * 60 * 1000;

/** Served counts gathered in-process (served-counter.ts), added to a day's counters. */
export interface ServedCount {
  placement: string;
  /** null for a fallback item. */
  rule: string | null;
  item: string;
  arm: RankingArm | null;
  day: string;
  count: number;
}

/** An outcome as reports count it: a stored outcome with its customer and the arm of the decision that served it. */
export interface ReportOutcome {
  customerId: string;
  decisionId: string;
  placement: string;
  item: string;
  rule: string | null;
  arm?: RankingArm | null;
  kind: OutcomeKind;
  /** Epoch milliseconds: the UTC day it is counted in. */
  at: number;
  value: number | null;
}

/** One placement's counters for one rule, item, arm and day. */
export interface ReportDayRow extends ReportCounters {
  rule: string | null;
  item: string;
  arm: RankingArm | null;
  day: string;
}

export type { GoalCounts };

export interface ReportStore {
  readonly kind: string;
  /** Adds served counts (not idempotent: a flush is sent once, and a lost one is at most 10 s of counts). */
  addServed(counts: readonly ServedCount[]): Promise<void>;
  /**
   * Counts outcomes, each at most once however often it is sent: an outcome
   * is known by its customer, decision, placement, item and kind
   * (`outcomeKey`), so a retried request completes the aggregate exactly once.
   */
  recordOutcomes(outcomes: readonly ReportOutcome[]): Promise<void>;
  /** Takes back outcomes counted by recordOutcomes (a customer erased); outcomes never counted are ignored. */
  forgetOutcomes(outcomes: readonly ReportOutcome[]): Promise<void>;
  /** Every row of the placement from fromDay to toDay (inclusive), in no particular order. */
  query(placement: string, fromDay: string, toDay: string): Promise<ReportDayRow[]>;
  /** Per item: goal events (clicks or conversions) and impressions from sinceDay to today, all rules and arms. */
  goalStats(placement: string, goal: OptimizeGoal, sinceDay: string): Promise<Map<string, GoalCounts>>;
  /** Drops the days past retention; returns how many rows (or keys) went. Redis expires its keys by itself. */
  sweepExpired(now: number): Promise<number>;
  /** Resolves when the store answers. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface ReportStoreOptions {
  /** Days of counters kept; at least the longest report (400 days). */
  retentionDays: number;
  /** The clock for retention; tests inject one. */
  now?: () => number;
}

/** Counters kept long enough for the longest report, and then some for the report's `to` being today. */
export const DEFAULT_REPORT_RETENTION_DAYS = 410;

/** The UTC day of an epoch-millisecond time, `YYYY-MM-DD`. */
export function dayOf(at: number): string {
  return new Date(at).toISOString().slice(0, 10);
}

/** The epoch milliseconds of a day's start (UTC). */
export function dayStart(day: string): number {
  return Date.parse(`${day}T00:00:00Z`);
}

/** The day `days` after (or before, negative) the given one. */
export function addDays(day: string, days: number): string {
  return dayOf(dayStart(day) + days * DAY_MS);
}

/** Every day from `from` to `to`, both inclusive. */
export function daysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  for (let t = dayStart(from), end = dayStart(to); t <= end; t += DAY_MS) days.push(dayOf(t));
  return days;
}

/** The first day still kept under retention, at `now`. */
export function firstKeptDay(now: number, retentionDays: number): string {
  return addDays(dayOf(now), -(retentionDays - 1));
}

/**
 * What makes an outcome the same outcome when it is sent again: customer,
 * decision, placement, item and kind (contract section 8), hashed so the
 * marker a store keeps is short whatever the ids' length (a decision id may
 * be 512 characters).
 */
export function outcomeKey(outcome: ReportOutcome): string {
  const identity = JSON.stringify([outcome.customerId, outcome.decisionId, outcome.placement, outcome.item, outcome.kind]);
  return createHash('sha256').update(identity).digest('base64url').slice(0, 24);
}

export function emptyCounters(): ReportCounters {
  return { served: 0, impressions: 0, clicks: 0, conversions: 0, dismisses: 0, value: 0 };
}

/** The counter an outcome kind adds to. */
export const COUNTER_OF_KIND: Readonly<Record<OutcomeKind, Exclude<keyof ReportCounters, 'served' | 'value'>>> = {
  impression: 'impressions',
  click: 'clicks',
  conversion: 'conversions',
  dismiss: 'dismisses',
};

/** The counter a goal counts. */
export const COUNTER_OF_GOAL: Readonly<Record<OptimizeGoal, 'clicks' | 'conversions'>> = { click: 'clicks', conversion: 'conversions' };

/** Adds an outcome to counters (sign 1) or takes it back (sign −1), never below zero. */
export function applyOutcome(counters: ReportCounters, outcome: ReportOutcome, sign: 1 | -1): void {
  const counter = COUNTER_OF_KIND[outcome.kind];
  counters[counter] = Math.max(0, counters[counter] + sign);
  if (outcome.value !== null) counters.value = Math.max(0, counters.value + sign * outcome.value);
}

export function addCounters(into: ReportCounters, from: ReportCounters): void {
  into.served += from.served;
  into.impressions += from.impressions;
  into.clicks += from.clicks;
  into.conversions += from.conversions;
  into.dismisses += from.dismisses;
  into.value += from.value;
}

/** Groups values by a key, keeping their order. */
export function groupBy<T>(values: readonly T[], keyOf: (value: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const value of values) {
    const key = keyOf(value);
    const group = groups.get(key);
    if (group) group.push(value);
    else groups.set(key, [value]);
  }
  return groups;
}
