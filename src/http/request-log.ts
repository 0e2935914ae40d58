/**
 * One log line per request: request id, method, matched route, status and
 * latency. Registered first, so it also sees the answers of later middleware
 * (authentication, body limits) and of the error handler.
 */
import { randomUUID } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import type { RouterRoute } from 'hono/types';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { matchedRoutes } from 'hono/route';
import { StoreUnavailableError } from '../domain/errors.js';
import type { Logger } from '../observability/logger.js';
import { addAnswerHeader } from './answer-headers.js';
import type { RequestRecord } from '../observability/metrics-hooks.js';

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

/** Where the request id waits for the handlers that put it in their answer themselves (`jsonAnswer`). */
const REQUEST_ID_KEY = 'requestId';

/** Answers made by `jsonAnswer`, which carry the request id already. */
const carryingRequestId = new WeakSet<Response>();

/**
 * A JSON answer with its headers in a plain object, request id included: the
 * lean path for the busiest routes. @hono/node-server writes such a Response
 * straight from its object; one with a Headers object (what `c.json` makes once
 * any header was set on the context) is copied out header by header. Being a
 * Response of its own, it carries no header set with `c.header()` before the
 * handler returned (middleware that sets headers does so on `c.res`, which Hono
 * carries over).
 */
export function jsonAnswer(c: Context, json: string, status: ContentfulStatusCode = 200): Response {
  const requestId = c.get(REQUEST_ID_KEY) as string | undefined;
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (requestId !== undefined) headers[REQUEST_ID_HEADER] = requestId;
  const res = new Response(json, { status, headers });
  if (requestId !== undefined) carryingRequestId.add(res);
  return res;
}

export function requestLog(options: RequestLogOptions): MiddlewareHandler {
  const { logger, onResponse } = options;
  // node:crypto's own, not the global Web Crypto one, which checks its receiver and arguments first.
  const newRequestId = options.newRequestId ?? (() => randomUUID());

  return async (c, next) => {
    const started = performance.now();
    const incoming = c.req.header(REQUEST_ID_HEADER);
    const requestId = incoming !== undefined && SANE_REQUEST_ID.test(incoming) ? incoming : newRequestId();
    c.set(REQUEST_ID_KEY, requestId);
    try {
      await next();
    } catch (err) {
      // Only a thrown non-Error gets here: Hono hands Errors to onError, which answers.
      finish(c, requestId, started, 500, err);
      throw err;
    }
    // Added to the answer rather than set on the context before the handler: a header set early makes
    // Hono build a Headers object for every answer, and the Node adapter then copy it out again.
    if (!carryingRequestId.has(c.res)) addAnswerHeader(c, REQUEST_ID_HEADER, requestId);
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
    // None of these fields can hold a secret (the id is checked above, the route is a pattern), so the
    // line skips redaction; an error's message and stack could, and go through the redacting logger.
    if (error instanceof StoreUnavailableError) {
      // An outage answers every write 503: one warning line each, without a stack, so it cannot bury the log.
      logger.warn('request', { ...fields, error: error.message });
    } else if (status >= 500 && error !== undefined) {
      logger.error('request', { ...fields, err: error });
    } else {
      logger.unredacted(PROBE_ROUTES.has(route) ? 'debug' : status >= 500 ? 'error' : 'info', 'request', fields);
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
