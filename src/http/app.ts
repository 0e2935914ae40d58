import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { installApiKeyAuth } from './auth.js';
import { corsMiddleware } from './cors.js';
import { customersRoutes } from './customers.js';
import { decisionsRoutes } from './decisions.js';
import { resolveDeps, type AppDeps } from './deps.js';
import { docsRoutes } from './docs.js';
import { healthRoutes } from './health.js';
import { metricsRoutes } from './metrics.js';
import { openApiRoutes } from './openapi.js';
import { PROBLEM_TYPES, problemResponse, toProblem } from './problem.js';
import { requestLog } from './request-log.js';
import { rulesRoutes } from './rules.js';

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
  installApiKeyAuth(app, deps.apiKeys);

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
  // Only where a body is read: on the Node adapter, touching the body turns the
  // lightweight request into a full Request, about 45 µs of a GET decision.
  for (const method of ['POST', 'PATCH', 'PUT'] as const) app.on(method, '/v1/*', limitBody);

  app.route('/', healthRoutes(deps));
  if (options.metrics) app.route('/', metricsRoutes(deps));
  app.route('/', openApiRoutes());
  app.route('/', docsRoutes());
  app.route('/v1/customers', customersRoutes(deps));
  app.route('/v1/decisions', decisionsRoutes(deps));
  app.route('/v1/rules', rulesRoutes(deps));

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
