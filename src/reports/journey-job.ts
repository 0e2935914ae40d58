/**
 * The journey map, computed in the background: a scan of every stored
 * customer takes seconds at a hundred thousand, too long to make a request
 * wait each time. The latest map for each `days` is kept with its `asOf`; a
 * request gets it at once, and one older than `maxAgeMs` (or made from other
 * rules) starts a fresh computation for the next request. Only the first
 * request for a `days` waits for one. One computation runs at a time per `days`.
 */
import type { JourneyReport } from '../domain/journey.js';
import type { ProfileStore } from '../profiles/store.js';
import type { RulesetSnapshot } from '../ruleset/snapshot.js';
import { createJourneyTally } from './journey.js';

export interface JourneyReportsOptions {
  store: Pick<ProfileStore, 'scanDecisionProfiles'>;
  /** The rules to place customers with, read when a computation starts. */
  snapshot: () => RulesetSnapshot;
  now?: () => number;
  /** A kept map older than this is recomputed when next asked for. */
  maxAgeMs?: number;
  /** Profiles per store read. */
  pageSize?: number;
  /** Called when a background refresh fails (the previous map keeps serving). */
  onError?: (error: unknown) => void;
}

export interface JourneyReports {
  /** The latest map for `days`, refreshed in the background when stale; waits only when there is none yet. */
  get(days: number): Promise<JourneyReport>;
}

/** Maps kept for this many distinct `days` values at most, so odd queries cannot grow memory. */
const KEPT_DAYS = 16;

interface Entry {
  report: JourneyReport | null;
  computedAt: number;
  running: Promise<JourneyReport> | null;
}

export function createJourneyReports(options: JourneyReportsOptions): JourneyReports {
  const now = options.now ?? Date.now;
  const maxAgeMs = options.maxAgeMs ?? 60_000;
  const pageSize = options.pageSize ?? 1000;
  const entries = new Map<number, Entry>();

  async function compute(days: number): Promise<JourneyReport> {
    const snapshot = options.snapshot();
    const tally = createJourneyTally(snapshot, { now: now(), days });
    let cursor: string | null = null;
    do {
      const page = await options.store.scanDecisionProfiles(cursor, pageSize);
      for (const profile of page.profiles) await tally.add(profile);
      cursor = page.cursor;
      // Let requests in between pages: the scan is background work.
      await new Promise((resolve) => setImmediate(resolve));
    } while (cursor !== null);
    return tally.result();
  }

  function start(days: number, entry: Entry): Promise<JourneyReport> {
    const running = compute(days).then(
      (report) => {
        entry.report = report;
        entry.computedAt = now();
        entry.running = null;
        return report;
      },
      (error: unknown) => {
        entry.running = null;
        throw error;
      },
    );
    entry.running = running;
    return running;
  }

  return {
    async get(days) {
      let entry = entries.get(days);
      if (!entry) {
        entry = { report: null, computedAt: 0, running: null };
        entries.set(days, entry);
        if (entries.size > KEPT_DAYS) entries.delete(entries.keys().next().value as number);
      }
      if (entry.report === null) return await (entry.running ?? start(days, entry));
      const stale = now() - entry.computedAt > maxAgeMs || entry.report.rulesVersion !== options.snapshot().version;
      if (stale && !entry.running) start(days, entry).catch((error: unknown) => options.onError?.(error));
      return entry.report;
    },
  };
}
