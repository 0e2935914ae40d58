/** GET /metrics: the app's Prometheus metrics, for a scraper, which carries no key. */
import { defineRoute } from './route.js';

export const metricsRoute = defineRoute({
  method: 'GET',
  path: '/metrics',
  scope: 'open',
  // Only an app given metrics serves them; without, there is nothing to scrape.
  mountIf: (options) => options.metrics !== undefined,
  handler: (deps) => {
    deps.metrics.readFrom({ rules: deps.rules, store: deps.store });
    return async (c) => c.body(await deps.metrics.render(), 200, { 'Content-Type': deps.metrics.contentType });
  },
  doc: {
    operationId: 'getMetrics',
    summary: 'Prometheus metrics',
    description:
      'Prometheus text format: nextbest_decisions_total, nextbest_decision_duration_seconds (histogram), nextbest_profile_cache_hits_total, nextbest_profile_cache_misses_total, nextbest_rules_reloads_total{result}, nextbest_touchpoints_ingested_total, and more.',
    tag: 'operations',
    responses: {
      200: {
        description: 'The metrics, in the Prometheus text exposition format.',
        content: { 'text/plain': { schema: { type: 'string' } } },
      },
    },
  },
});
