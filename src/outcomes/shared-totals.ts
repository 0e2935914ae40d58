/**
 * Everyone's outcome counts for caps with `scope: "all"` (contract section 8),
 * held in memory and refreshed from the store in the background, at most
 * every REFRESH_MS: a decision asks synchronously and never waits on the
 * store. When a refresh fails (the store is down), the last counts keep
 * serving, and the failure is reported.
 *
 * Counts are kept per UTC day, so a cap's window counts whole days: an
 * outcome counts while its day ends after `now - withinDays`.
 */
import type { OutcomeKind } from '../domain/outcome.js';
import type { OutcomeTotals } from '../domain/outcome-totals.js';
import { DAY_MS, type OutcomeDayCount } from '../profiles/store.js';

export const REFRESH_MS = 5000;

export interface SharedOutcomeTotals extends OutcomeTotals {
  /** Reads the counts of these items from the store now; rejects (keeping the last counts) when it fails. */
  refresh(): Promise<void>;
  /** Starts refreshing every `intervalMs`; returns the function that stops it. */
  start(): () => void;
  /** Whether the last refresh failed (the counts may be stale). */
  readonly stale: boolean;
}

export interface SharedTotalsOptions {
  store: { outcomeTotals(items: readonly string[], now: number): Promise<OutcomeDayCount[]> };
  /** The items whose caps count everyone's outcomes, asked at each refresh (the rules may have changed). */
  items: () => readonly string[];
  now?: () => number;
  intervalMs?: number;
  onError?: (error: Error) => void;
}

export function createSharedOutcomeTotals(options: SharedTotalsOptions): SharedOutcomeTotals {
  const clock = options.now ?? Date.now;
  /** item → kind → day, count, day, count… (flat: read for every capped item a decision considers). */
  let counts = new Map<string, Map<OutcomeKind, number[]>>();
  let stale = false;
  let running: Promise<void> | null = null;

  async function load(): Promise<void> {
    const items = options.items();
    if (items.length === 0) {
      counts = new Map();
      stale = false;
      return;
    }
    const rows = await options.store.outcomeTotals(items, clock());
    const next = new Map<string, Map<OutcomeKind, number[]>>();
    for (const { item, kind, day, count } of rows) {
      let byKind = next.get(item);
      if (!byKind) next.set(item, (byKind = new Map()));
      let days = byKind.get(kind);
      if (!days) byKind.set(kind, (days = []));
      days.push(day, count);
    }
    counts = next;
    stale = false;
  }

  function refresh(): Promise<void> {
    // One refresh at a time: a slow store never piles them up.
    running ??= load()
      .catch((error: Error) => {
        stale = true;
        throw error;
      })
      .finally(() => {
        running = null;
      });
    return running;
  }

  return {
    count(item, kind, withinDays, now) {
      const days = counts.get(item)?.get(kind);
      if (!days) return 0;
      const cutoff = withinDays === null ? -Infinity : now - withinDays * DAY_MS;
      let total = 0;
      for (let i = 0; i < days.length; i += 2) if (((days[i] as number) + 1) * DAY_MS > cutoff) total += days[i + 1] as number;
      return total;
    },
    refresh,
    start() {
      const tick = () => void refresh().catch((error: Error) => options.onError?.(error));
      tick();
      const timer = setInterval(tick, options.intervalMs ?? REFRESH_MS);
      timer.unref();
      return () => clearInterval(timer);
    },
    get stale() {
      return stale;
    },
  };
}
