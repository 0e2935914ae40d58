import { Hono, type Handler, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { apiKeyAuth } from './auth.js';
import { corsMiddleware } from './cors.js';
import { resolveDeps, type AppDeps } from './deps.js';
import { PROBLEM_TYPES, problemResponse, toProblem } from './problem.js';
import { requestLog } from './request-log.js';
import { isOpenPath, ROUTES } from './routes.js';

/** The whole HTTP API, without a server: tests call `app.request()` on it in-process. */
export function createApp(options: AppDeps): Hono {
  const deps = resolveDeps(options);
  const app = new Hono();

  // First of all, so the log line and the latency cover every answer, 401s and 413s included.
  app.use('*', requestLog({ logger: deps.logger, onResponse: (record) => deps.metrics.recordRequest(record) }));

  // CORS, then API keys, before any route or body limit: a preflight needs no
  // key, and a caller without a valid key learns nothing else (auth.ts).
  const corsHandler = corsMiddleware(deps.corsOrigins);
  if (corsHandler) app.use('/v1/*', corsHandler);
  const auth = apiKeyAuth(deps.apiKeys, isOpenPath);
  if (auth) app.use('*', auth.authenticate);

  const limitBody = bodyLimitByLength(deps.maxBodyBytes);

  // Each route from its entry of the table: its scope check (with keys), the body limit (only where a body is
  // read: on the Node adapter, touching the body turns the lightweight request into a full Request, about
  // 45 µs of a GET decision), then its handler. Nothing else is added per route.
  for (const route of ROUTES) {
    if (route.mountIf && !route.mountIf(options)) continue;
    const handlers: Handler[] = [];
    if (auth && route.scope !== 'open') handlers.push(auth.requireScope({ method: route.method, path: route.path, scope: route.scope }));
    if (route.body && route.bodyLimit !== false) handlers.push(limitBody);
    handlers.push(route.handler(deps));
    app.on(route.method, [route.path], ...handlers);
  }

  app.notFound((c) =>
    problemResponse(c, {
      type: PROBLEM_TYPES.notFound,
      title: 'Not found',
      status: 404,
      detail: `no route for ${c.req.method} ${c.req.path}`,
    }),
  );

  // A 5xx is logged, with its stack, on the request's own log line (request-log.ts), not here.
  app.onError((err, c) => {
    const { problem, headers } = toProblem(err);
    return problemResponse(c, problem, headers);
  });

  return app;
}

/**
 * The body limit. A body with a Content-Length is judged by the header alone:
 * hono's bodyLimit first asks for `c.req.raw.body`, which on the Node adapter
 * turns the lightweight request into a full undici Request with a web stream
 * (about 16% of a single-touchpoint POST's CPU), where `arrayBuffer()` would
 * read the socket directly. Node's HTTP parser never hands on more bytes than
 * the Content-Length says, so the header is the size. A chunked body (no
 * length) goes through hono's bodyLimit, which counts while it reads.
 */
function bodyLimitByLength(maxBytes: number): MiddlewareHandler {
  const tooLarge: MiddlewareHandler = async (c) =>
    problemResponse(c, {
      type: PROBLEM_TYPES.tooLarge,
      title: 'Body too large',
      status: 413,
      detail: `the body must be at most ${maxBytes} bytes`,
    });
  const counting = bodyLimit({ maxSize: maxBytes, onError: (c) => tooLarge(c, async () => {}) as Response | Promise<Response> });
  return async (c, next) => {
    const length = c.req.header('content-length');
    if (length === undefined || c.req.header('transfer-encoding') !== undefined) return counting(c, next);
    return Number(length) > maxBytes ? tooLarge(c, next) : next();
  };
}
