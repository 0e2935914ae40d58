/**
 * One log line per request: request id, method, matched route, status and
 * latency. Registered first, so it also sees the answers of later middleware
 * (authentication, body limits) and of the error handler.
 */
import { randomUUID } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import type { RouterRoute } from 'hono/types';
import { matchedRoutes } from 'hono/route';
import type { Logger } from '../logger.js';
import type { RequestRecord } from './metrics.js';

export const REQUEST_ID_HEADER = 'X-Request-Id';

/** The `route` of a request no route handles (an unknown path, a CORS preflight). */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * An incoming id is kept only when it cannot forge or break a log line or a
 * header: 1 to 128 characters of letters, digits and `._:-`.
 */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Load balancers and Prometheus call these every few seconds; they log at debug only. */
const PROBE_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

export interface RequestLogOptions {
  logger: Logger;
  /** Told of every answered request, e.g. the metrics' `recordRequest`. */
  onResponse?: (record: RequestRecord) => void;
  /** Makes an id when the request brings no usable one; default node:crypto's randomUUID. */
  newRequestId?: () => string;
}

export function requestLog(options: RequestLogOptions): MiddlewareHandler {
  const { logger, onResponse } = options;
  // node:crypto's own, not the global Web Crypto one, which checks its receiver and arguments first.
  const newRequestId = options.newRequestId ?? (() => randomUUID());

  return async (c, next) => {
    const started = performance.now();
    const incoming = c.req.header(REQUEST_ID_HEADER);
    const requestId = incoming !== undefined && SANE_REQUEST_ID.test(incoming) ? incoming : newRequestId();
    // Set before the handler so responses built with `c` carry it; checked again below for ones that were not.
    c.header(REQUEST_ID_HEADER, requestId);
    try {
      await next();
    } catch (err) {
      // Only a thrown non-Error gets here: Hono hands Errors to onError, which answers.
      finish(c, requestId, started, 500, err);
      throw err;
    }
    if (!c.res.headers.has(REQUEST_ID_HEADER)) c.header(REQUEST_ID_HEADER, requestId);
    finish(c, requestId, started, c.res.status, c.error);
  };

  function finish(c: Context, requestId: string, started: number, status: number, error: unknown): void {
    const seconds = (performance.now() - started) / 1000;
    const route = routeOf(c, status);
    const fields: Record<string, unknown> = {
      requestId,
      method: c.req.method,
      route,
      status,
      latencyMs: Math.round(seconds * 1e6) / 1e3,
    };
    if (status >= 500 && error !== undefined) {
      logger.error('request', { ...fields, err: error });
    } else if (PROBE_ROUTES.has(route)) {
      logger.debug('request', fields);
    } else if (status >= 500) {
      logger.error('request', fields);
    } else {
      logger.info('request', fields);
    }
    onResponse?.({ method: c.req.method, route, status, seconds });
  }
}

/**
 * The route pattern of the request, e.g. `/v1/customers/:id`: never the raw
 * path, which holds customer ids. Middleware is told apart by its pattern
 * (`use`, or a path ending in `*`). When middleware answered (401, 403, 413),
 * the request is named after the handler it was for; when no handler matches
 * the path at all, it is `unmatched`, except for a wildcard handler such as
 * `GET /docs/*` that served it.
 */
function routeOf(c: Context, status: number): string {
  const routes = matchedRoutes(c);
  const answered = routes[c.req.routeIndex];
  if (answered && !isMiddleware(answered)) return answered.path;
  const handler = routes.find((route) => !isMiddleware(route));
  if (handler) return handler.path;
  if (answered && answered.method !== 'ALL' && status !== 404) return answered.path;
  return UNMATCHED_ROUTE;
}

function isMiddleware(route: RouterRoute): boolean {
  return route.method === 'ALL' || route.path.endsWith('*');
}
