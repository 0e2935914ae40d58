/**
 * The metrics hooks the routes call (`Metrics`), and `noMetrics`, which does
 * nothing, for an app without metrics. Apart from the Prometheus metrics
 * themselves (metrics.ts), so that what decides without them (the decision
 * workers of `nextbest offers`) does not load prom-client.
 */
import type { Decision } from '../domain/decision.js';
import type { AppendResult, ProfileStore } from '../profiles/store.js';
import type { RulesStatus } from '../reload/registry.js';

/** One answered HTTP request, as the request log saw it. */
export interface RequestRecord {
  method: string;
  /** The matched route pattern (`/v1/customers/:id`), never the raw path. */
  route: string;
  status: number;
  seconds: number;
}

/** What the metrics read at each scrape. */
export interface MetricsSources {
  rules: { status(): RulesStatus };
  /** The app's store; its `stats()`, when it is the profile cache, feeds the cache series. */
  store: ProfileStore;
}

/** The hooks the routes call. `noMetrics` when the app has no metrics: the routes never check. */
export interface Metrics {
  recordRequest(record: RequestRecord): void;
  /** One decision, batch members included; `seconds` is the time decide() took. */
  recordDecision(decision: Decision, seconds: number): void;
  recordTouchpoints(result: AppendResult): void;
  /** Outcomes newly stored, by kind (duplicates are not counted). */
  recordOutcomes(kind: string, count: number): void;
  /** Outcomes refused, by reason (invalid, forged, expired, not-served, other-customer). */
  recordRejectedOutcomes(reason: string, count: number): void;
  /** Points the scrape-time series at an app's rules and store; the last app to call it wins. */
  readFrom(sources: MetricsSources): void;
  /** The exposition in Prometheus text format. */
  render(): Promise<string>;
  readonly contentType: string;
}

export const noMetrics: Metrics = {
  recordRequest() {},
  recordDecision() {},
  recordTouchpoints() {},
  recordOutcomes() {},
  recordRejectedOutcomes() {},
  readFrom() {},
  render: () => Promise.resolve(''),
  contentType: 'text/plain; version=0.0.4; charset=utf-8',
};
