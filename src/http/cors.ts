/**
 * CORS for browser callers (`CORS_ORIGINS`), on top of `hono/cors`. Mounted
 * before authentication: a browser's preflight carries no credentials, so it
 * must be answered without a key, and 401/403 answers must carry the CORS
 * headers or the page cannot read them.
 */
import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import { addAnswerHeader } from './answer-headers.js';

export const CORS_ALLOW_METHODS = ['GET', 'POST', 'PATCH', 'DELETE', 'OPTIONS'];
export const CORS_ALLOW_HEADERS = ['Authorization', 'X-API-Key', 'Content-Type', 'X-Request-Id'];
export const CORS_EXPOSE_HEADERS = ['X-Request-Id'];
/** How long a browser may reuse a preflight answer (Chromium caps it at 2 hours). */
const PREFLIGHT_MAX_AGE_SECONDS = 600;

/**
 * The CORS middleware for `origins`, or null when there are none (no CORS
 * headers at all). `*` among the origins allows any origin.
 *
 * `hono/cors` alone sets the allowed methods, headers and exposed headers on
 * every answer, whatever the origin; we send no CORS header at all to an origin
 * that is not allowed, so nothing suggests it may call. Its preflight still
 * answers 204 (the browser then refuses the real request), and the answer says
 * `Vary: Origin` since it depends on the origin.
 */
export function corsMiddleware(origins: readonly string[]): MiddlewareHandler | null {
  if (origins.length === 0) return null;
  const anyOrigin = origins.includes('*');
  const allowed = new Set(origins);
  const withHeaders = cors({
    origin: anyOrigin ? '*' : (origin) => (allowed.has(origin) ? origin : null),
    allowMethods: CORS_ALLOW_METHODS,
    allowHeaders: CORS_ALLOW_HEADERS,
    exposeHeaders: CORS_EXPOSE_HEADERS,
    maxAge: PREFLIGHT_MAX_AGE_SECONDS,
  });
  const exposeHeaders = CORS_EXPOSE_HEADERS.join(',');
  return async (c, next) => {
    const origin = c.req.header('Origin');
    const allowOrigin = anyOrigin ? '*' : origin !== undefined && allowed.has(origin) ? origin : null;
    if (c.req.method === 'OPTIONS') return allowOrigin !== null ? withHeaders(c, next) : c.body(null, 204, { Vary: 'Origin' });
    // An actual request: the headers hono/cors would give it, added to the answer once it is made.
    // (hono/cors sets them on the context first, which makes Hono copy the answer the handler returns.)
    await next();
    if (allowOrigin !== null) {
      addAnswerHeader(c, 'Access-Control-Allow-Origin', allowOrigin);
      addAnswerHeader(c, 'Access-Control-Expose-Headers', exposeHeaders);
    }
    if (!anyOrigin) addAnswerHeader(c, 'Vary', 'Origin', { append: true });
  };
}
