/**
 * Prometheus metrics of one app instance, served at `GET /metrics`
 * (http/metrics.ts).
 *
 * Everything here is either fed by the HTTP layer (requests, decisions,
 * ingested touchpoints) or read at scrape time from ports (the rules status,
 * the profile cache's stats, the ProfileStore interface). Neither src/decide
 * nor the stores learn that prom-client exists: the routes call the small
 * `Metrics` hooks below, and main.ts wraps the store backend with
 * `instrumentStore`.
 *
 * Each app gets its own prom-client Registry, never the global default one, so
 * tests and several apps in one process do not share (or clash over) series.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { FastHistogram, type HistogramSeries } from './histogram.js';
import type { Decision, PlacementDecision } from '../domain/decision.js';
import type { CacheStats } from '../profiles/cached-store.js';
import { PROFILE_STORE_METHODS, type ProfileStore, type ProfileStoreMethod } from '../profiles/store.js';
import { wrapStore } from '../profiles/wrap-store.js';
import type { Metrics, MetricsSources } from './metrics-hooks.js';

export interface PrometheusMetrics extends Metrics {
  readonly registry: Registry;
  /**
   * The store with every call timed into nextbest_store_operation_duration_seconds
   * (and failures counted). Meant for the backend behind the profile cache, so
   * the figures are real store I/O rather than cache hits.
   */
  instrumentStore(store: ProfileStore): ProfileStore;
}

export interface MetricsOptions {
  /**
   * prom-client's default process metrics (CPU, memory, event-loop lag, GC,
   * handles) under their conventional unprefixed names (`process_*`,
   * `nodejs_*`), which existing dashboards expect; default true.
   */
  processMetrics?: boolean;
}

// Decisions take tens of microseconds compiled and up to tens of milliseconds with json-rules-engine.
const DECISION_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1];
// SQLite answers in well under a millisecond, a network store in a few; buckets reach to seconds for a store in trouble.
const STORE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
const HTTP_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

// A client may send any method name through app.request(); the label must stay bounded.
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

export function createMetrics(options: MetricsOptions = {}): PrometheusMetrics {
  const registry = new Registry();
  let sources: MetricsSources | null = null;
  const registers = [registry];

  // Counted in a number and handed to prom-client at scrape time, as the placement counts below.
  let decisionCount = 0;
  new Counter({
    name: 'nextbest_decisions_total',
    help: 'Decisions made, one per customer and request (batch members included).',
    registers,
    collect() {
      this.reset();
      this.inc(decisionCount);
    },
  });
  // Counted here and handed to prom-client at scrape time: its labelled inc() hashes and checks the
  // labels on every call (labels() children included), twice per two-placement decision.
  const placementCounts = new Map<string, { served: number; fellBack: number }>();
  new Counter({
    name: 'nextbest_placement_decisions_total',
    help: 'Placements decided, by placement and whether it fell back.',
    labelNames: ['placement', 'fallback'] as const,
    registers,
    collect() {
      this.reset();
      for (const [placement, { served, fellBack }] of placementCounts) {
        if (served > 0) this.inc({ placement, fallback: 'false' }, served);
        if (fellBack > 0) this.inc({ placement, fallback: 'true' }, fellBack);
      }
    },
  });
  const degradedDecisions = new Counter({
    name: 'nextbest_degraded_decisions_total',
    help: 'Decisions made as for a new visitor because the profile could not be read (store unavailable, or stored data unreadable); batch members included.',
    registers,
  });
  // The two histograms every GET decision feeds are counted in typed arrays (histogram.ts); the rest are prom-client's.
  const decisionDuration = new FastHistogram(
    'nextbest_decision_duration_seconds',
    'Time to evaluate one decision (rules and arbitration; the profile read is in the store and HTTP series).',
    DECISION_BUCKETS,
    registry,
  );
  const decisionSeries = decisionDuration.series();
  const touchpointsIngested = new Counter({ name: 'nextbest_touchpoints_ingested_total', help: 'Touchpoints newly stored.', registers });
  const touchpointDuplicates = new Counter({
    name: 'nextbest_touchpoints_duplicates_total',
    help: 'Touchpoints skipped because their id was already stored for the customer.',
    registers,
  });
  const outcomesStored = new Counter({
    name: 'nextbest_outcomes_total',
    help: 'Outcomes newly stored, by kind (duplicates are not counted).',
    labelNames: ['kind'] as const,
    registers,
  });
  const outcomesRejected = new Counter({
    name: 'nextbest_outcomes_rejected_total',
    help: 'Outcomes refused with a 400, by reason: invalid, forged, expired, not-served, other-customer.',
    labelNames: ['reason'] as const,
    registers,
  });
  const httpDuration = new FastHistogram(
    'nextbest_http_request_duration_seconds',
    'HTTP request latency by method, matched route pattern and status.',
    HTTP_BUCKETS,
    registry,
  );
  /** method → route → status → series: found without building a string. */
  const httpSeries = new Map<string, Map<string, Map<number, HistogramSeries>>>();
  const httpSeriesOf = (method: string, route: string, status: number): HistogramSeries => {
    let byRoute = httpSeries.get(method);
    if (!byRoute) httpSeries.set(method, (byRoute = new Map()));
    let byStatus = byRoute.get(route);
    if (!byStatus) byRoute.set(route, (byStatus = new Map()));
    let series = byStatus.get(status);
    if (!series) byStatus.set(status, (series = httpDuration.series({ method, route, status: String(status) })));
    return series;
  };
  const storeDuration = new Histogram({
    name: 'nextbest_store_operation_duration_seconds',
    help: 'Profile store call latency (behind the profile cache), by operation.',
    labelNames: ['operation'] as const,
    buckets: STORE_BUCKETS,
    registers,
  });
  const storeErrors = new Counter({
    name: 'nextbest_store_operation_errors_total',
    help: 'Profile store calls that failed, by operation.',
    labelNames: ['operation'] as const,
    registers,
  });

  // The series below are read from their source at scrape time: the cache and the registry already count.
  const cacheStats = (): CacheStats | null => {
    const store = sources?.store;
    return store && hasStats(store) ? store.stats() : null;
  };
  new Counter({
    name: 'nextbest_profile_cache_hits_total',
    help: 'Decision profile reads served by the profile cache.',
    registers,
    collect() {
      this.reset();
      this.inc(cacheStats()?.hits ?? 0);
    },
  });
  new Counter({
    name: 'nextbest_profile_cache_misses_total',
    help: 'Decision profile reads the profile cache could not serve.',
    registers,
    collect() {
      this.reset();
      this.inc(cacheStats()?.misses ?? 0);
    },
  });
  new Gauge({
    name: 'nextbest_profile_cache_entries',
    help: 'Entries held by the profile cache.',
    registers,
    collect() {
      this.set(cacheStats()?.size ?? 0);
    },
  });
  new Counter({
    name: 'nextbest_rules_reloads_total',
    help: 'Rule reloads, by result (a failed one keeps the last good rules serving).',
    labelNames: ['result'] as const,
    registers,
    collect() {
      const reloads = sources?.rules.status().reloads ?? { success: 0, failure: 0 };
      this.reset();
      this.inc({ result: 'success' }, reloads.success);
      this.inc({ result: 'failure' }, reloads.failure);
    },
  });
  new Gauge({
    name: 'nextbest_rules_info',
    help: 'The rules version serving, as a label; absent until the first good load.',
    labelNames: ['version'] as const,
    registers,
    collect() {
      this.reset();
      const version = sources?.rules.status().version;
      if (version) this.set({ version }, 1);
    },
  });

  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });

  const countPlacement = (placement: string, fallback: boolean): void => {
    let counts = placementCounts.get(placement);
    if (!counts) {
      counts = { served: 0, fellBack: 0 };
      placementCounts.set(placement, counts);
    }
    if (fallback) counts.fellBack++;
    else counts.served++;
  };

  async function timeStoreCall<R>(operation: ProfileStoreMethod, call: () => Promise<R>): Promise<R> {
    const end = storeDuration.startTimer({ operation });
    try {
      return await call();
    } catch (err) {
      storeErrors.inc({ operation });
      throw err;
    } finally {
      end();
    }
  }

  // Every method but close, each under its own name as the `operation` label.
  const instrumentStore = (store: ProfileStore): ProfileStore => wrapStore(store, PROFILE_STORE_METHODS, timeStoreCall, { exempt: ['close'] });

  return {
    registry,
    contentType: registry.contentType,
    instrumentStore,
    readFrom(next) {
      sources = next;
    },
    recordRequest({ method, route, status, seconds }) {
      httpDuration.observe(httpSeriesOf(METHODS.has(method) ? method : 'OTHER', route, status), seconds);
    },
    recordDecision(decision, seconds) {
      decisionCount++;
      if (decision.degraded) degradedDecisions.inc();
      decisionDuration.observe(decisionSeries, seconds);
      for (const placement in decision.placements) countPlacement(placement, (decision.placements[placement] as PlacementDecision).fallback);
    },
    recordTouchpoints(result) {
      if (result.accepted > 0) touchpointsIngested.inc(result.accepted);
      if (result.duplicates > 0) touchpointDuplicates.inc(result.duplicates);
    },
    recordOutcomes(kind, count) {
      if (count > 0) outcomesStored.inc({ kind }, count);
    },
    recordRejectedOutcomes(reason, count) {
      if (count > 0) outcomesRejected.inc({ reason }, count);
    },
    render: () => registry.metrics(),
  };
}

function hasStats(store: ProfileStore): store is ProfileStore & { stats(): CacheStats } {
  return typeof (store as Partial<{ stats: unknown }>).stats === 'function';
}
