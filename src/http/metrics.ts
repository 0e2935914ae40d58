import { Hono } from 'hono';
import type { ResolvedDeps } from './deps.js';

/** `GET /metrics` for the app's metrics, which from now on read this app's rules status and cache stats. */
export function metricsRoutes(deps: ResolvedDeps): Hono {
  deps.metrics.readFrom({ rules: deps.rules, store: deps.store });
  const app = new Hono();
  app.get('/metrics', async (c) => c.body(await deps.metrics.render(), 200, { 'Content-Type': deps.metrics.contentType }));
  return app;
}
