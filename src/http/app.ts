import { Hono, type Handler } from 'hono';
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

  const limitBody = bodyLimit({
    maxSize: deps.maxBodyBytes,
    onError: (c) =>
      problemResponse(c, {
        type: PROBLEM_TYPES.tooLarge,
        title: 'Body too large',
        status: 413,
        detail: `the body must be at most ${deps.maxBodyBytes} bytes`,
      }),
  });

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
