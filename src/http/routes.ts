/**
 * The route table: every route of the service, each declared once (route.ts).
 * createApp mounts them in this order, auth reads which paths are open, and
 * the OpenAPI document lists them in this order. A new route is a new entry.
 */
import type { Scope } from '../config.js';
import { consoleRoutes } from './console.js';
import { customerRoutes } from './customers.js';
import { decisionStreamRoute } from './decision-stream.js';
import { decisionRoutes } from './decisions.js';
import { docsRoutes } from './docs.js';
import { healthRoutes } from './health.js';
import { indexRoute } from './index-route.js';
import { journeyRoutes } from './journey.js';
import { metricsRoute } from './metrics-route.js';
import { openApiDocument, openApiDocumentRoute } from './openapi.js';
import { outcomeRoutes } from './outcomes.js';
import type { RouteDef } from './route.js';
import { reportRoutes } from './reports.js';
import { rulesRoutes } from './rules.js';
import { simulateRoutes } from './simulate.js';

export const ROUTES: readonly RouteDef[] = [
  indexRoute,
  ...healthRoutes,
  metricsRoute,
  // The document of this very table, read when first served.
  openApiDocumentRoute(() => ROUTES),
  ...docsRoutes,
  ...consoleRoutes,
  ...customerRoutes,
  ...decisionRoutes,
  ...outcomeRoutes,
  decisionStreamRoute,
  ...rulesRoutes,
  ...journeyRoutes,
  ...simulateRoutes,
  ...reportRoutes,
];

/** The OpenAPI document of the table; built once. */
export function buildOpenApiDocument(): object {
  return openApiDocument(ROUTES);
}

/** The scope each route needs (`admin` holds every scope); routes not here are open. */
export const ROUTE_SCOPES: ReadonlyArray<{ method: RouteDef['method']; path: string; scope: Scope }> = ROUTES.flatMap((r) =>
  r.scope === 'open' ? [] : [{ method: r.method, path: r.path, scope: r.scope }],
);

/**
 * Paths that answer without a key: probes and metrics scrapers carry none, and
 * the API description is not a secret. Matched on the raw path before any
 * route, so an unknown path below an open one (`/docs/…`) is a 404, not a 401.
 */
export const OPEN_PATHS: readonly string[] = ROUTES.filter((r) => r.scope === 'open' && !r.path.includes(':')).map((r) => r.path);
const OPEN_PREFIXES: readonly string[] = ROUTES.filter((r) => r.scope === 'open' && r.openBelow).map((r) => `${r.path}/`);

export function isOpenPath(path: string): boolean {
  return OPEN_PATHS.includes(path) || OPEN_PREFIXES.some((prefix) => path.startsWith(prefix));
}

checkTable(ROUTES);

/** Refuses, at start-up, a table that claims one route twice or leaves an open route asking for a key. */
function checkTable(routes: readonly RouteDef[]): void {
  const seen = new Set<string>();
  for (const route of routes) {
    const key = `${route.method} ${route.path}`;
    if (seen.has(key)) throw new Error(`routes: ${key} is declared twice`);
    seen.add(key);
    if (route.openBelow && route.scope !== 'open') throw new Error(`routes: ${key} opens the paths below it but is not open itself`);
    if (route.scope === 'open' && !isOpenPath(route.path)) throw new Error(`routes: ${key} is open, but its path is not: open a path above it with openBelow`);
  }
}
