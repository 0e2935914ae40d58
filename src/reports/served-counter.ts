/**
 * Served counts, gathered in-process (contract section 9): a decision adds
 * one to a Map entry per served item, nothing more, and the counts go to the
 * ReportStore at most every 10 s and on graceful shutdown. A store write per
 * decision would cost the decision path a round trip; the price is that a
 * report's `served` may lag by up to the interval, and a crash may lose up
 * to one interval of counts. Outcomes are counted by the store directly.
 */
import type { Decision, ServedItem } from '../domain/decision.js';
import type { RankingArm } from '../domain/report.js';
import { DAY_MS, dayOf, type ReportStore, type ServedCount } from './report-store.js';

export const SERVED_FLUSH_INTERVAL_MS = 10_000;

export interface ServedCounter {
  /** Counts the items a decision served: the hot path, a Map increment an item. */
  count(decision: Decision, now: number): void;
  /** Sends the counts so far to the store; counts it could not send are kept for the next flush. */
  flush(): Promise<void>;
}

export interface ServedCounterOptions {
  store: ReportStore;
  /** Told when a flush fails; the counts are kept and sent with the next one. */
  onError?: (error: unknown) => void;
}

/** Counts by placement (and arm, for an optimized placement), then by served item: items are shared objects, one per item and rule. */
type DayCounts = Map<string, Map<ServedItem, number>>;

interface Bucket {
  /** Epoch day number: a bucket holds one UTC day. */
  day: number;
  counts: DayCounts;
}

const ARM_SEPARATOR = '\n';

export function createServedCounter(options: ServedCounterOptions): ServedCounter {
  let current: Bucket = { day: -1, counts: new Map() };
  /** Buckets of earlier days, and counts a failed flush gave back. */
  let pending: ServedCount[] = [];
  let flushing: Promise<void> | null = null;

  function count(decision: Decision, now: number): void {
    const day = Math.floor(now / DAY_MS);
    if (day !== current.day) {
      // The day turned (or this is the first decision): yesterday's counts wait for the next flush.
      if (current.counts.size > 0) pending.push(...toRows(current));
      current = { day, counts: new Map() };
    }
    const { placements } = decision;
    for (const name in placements) {
      const placement = placements[name];
      if (!placement || placement.items.length === 0) continue;
      const key = placement.ranking === undefined ? name : name + ARM_SEPARATOR + placement.ranking;
      let byItem = current.counts.get(key);
      if (!byItem) current.counts.set(key, (byItem = new Map()));
      for (const item of placement.items) byItem.set(item, (byItem.get(item) ?? 0) + 1);
    }
  }

  async function flushOnce(): Promise<void> {
    const rows = [...pending, ...toRows(current)];
    pending = [];
    current = { day: current.day, counts: new Map() };
    if (rows.length === 0) return;
    try {
      await options.store.addServed(merge(rows));
    } catch (error) {
      pending.push(...rows);
      options.onError?.(error);
    }
  }

  return {
    count,
    flush() {
      // One flush at a time: a second caller waits for the one under way, then sends what came since.
      const next = (flushing ?? Promise.resolve()).then(flushOnce);
      flushing = next.finally(() => {
        if (flushing === next) flushing = null;
      });
      return next;
    },
  };
}

function toRows(bucket: Bucket): ServedCount[] {
  const day = dayOf(bucket.day * DAY_MS);
  const rows: ServedCount[] = [];
  for (const [key, byItem] of bucket.counts) {
    const cut = key.indexOf(ARM_SEPARATOR);
    const placement = cut < 0 ? key : key.slice(0, cut);
    const arm = cut < 0 ? null : (key.slice(cut + 1) as RankingArm);
    for (const [item, count] of byItem) rows.push({ placement, rule: item.rule, item: item.id, arm, day, count });
  }
  return rows;
}

/** One row per placement, rule, item, arm and day: items of two rule snapshots are two objects for one row. */
function merge(rows: readonly ServedCount[]): ServedCount[] {
  const merged = new Map<string, ServedCount>();
  for (const row of rows) {
    const key = JSON.stringify([row.placement, row.rule, row.item, row.arm, row.day]);
    const found = merged.get(key);
    if (found) found.count += row.count;
    else merged.set(key, { ...row });
  }
  return [...merged.values()];
}
