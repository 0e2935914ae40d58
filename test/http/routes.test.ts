/**
 * The route table (src/http/routes.ts) is the one place a route is declared:
 * the app mounts it with nothing but its scope check and, where it reads a
 * body, the body limit; the OpenAPI document is written from the same entry.
 */
import type { Context } from 'hono';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import type { ApiKey } from '../../src/config.js';
import { decisionSchema } from '../../src/domain/decision.js';
import { createApp } from '../../src/http/app.js';
import { openApiDocument } from '../../src/http/openapi.js';
import { defineRoute, type RouteDef } from '../../src/http/route.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { ROUTES } from '../../src/http/routes.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createProfileStore } from '../../src/composition.js';

const KEYS: readonly ApiKey[] = [{ key: 'routes-test-key', scopes: new Set(['admin']) }];

function appWith(apiKeys: readonly ApiKey[] | null) {
  const store = createProfileStore({ store: 'memory', sqlitePath: '', retentionDays: 365, maxTouchpointsPerProfile: 1000, cacheMax: 10, now: () => 0 });
  const rules = { current: null, status: () => { throw new Error('not used'); } };
  const app = createApp({ rules, store, logger: silentLogger, apiKeys, metrics: createMetrics() });
  return { app, close: () => store.close() };
}

/** How many handlers the app registered for a route's method and path. */
function mounted(app: ReturnType<typeof appWith>['app'], route: RouteDef): number {
  return app.routes.filter((r) => r.method === route.method && r.path === route.path).length;
}

describe('the route table', () => {
  it.each([
    ['with API keys', KEYS],
    ['without API keys', null],
  ] as const)('mounts each route with only its scope check and, where it reads a body, the body limit (%s)', async (_, keys) => {
    const { app, close } = appWith(keys);
    try {
      for (const route of ROUTES) {
        const expected = 1 + (keys !== null && route.scope !== 'open' ? 1 : 0) + (route.body && route.bodyLimit !== false ? 1 : 0);
        expect(mounted(app, route), `${route.method} ${route.path}`).toBe(expected);
      }
      // The busiest route reads no body: nothing but the scope check stands in front of its handler.
      const byQuery = ROUTES.find((r) => r.method === 'GET' && r.path === '/v1/decisions/:customerId');
      expect(byQuery?.body).toBeUndefined();
      // The decision stream reads its body a line at a time and says so: no body limit in front of it.
      const stream = ROUTES.find((r) => r.method === 'POST' && r.path === '/v1/decisions/stream');
      expect(stream?.bodyLimit).toBe(false);
      expect(stream && mounted(app, stream)).toBe(keys === null ? 1 : 2);
    } finally {
      await close();
    }
  });

  it('documents a route from its entry alone: operation, scope, security and the answers its mounting adds', () => {
    const added = defineRoute({
      method: 'POST',
      path: '/v1/decisions/:customerId/again',
      scope: 'decide',
      body: { description: 'A decision request.', schemas: [decisionSchema], examples: {} },
      handler: () => (c) => c.body(null, 204),
      doc: {
        operationId: 'decideAgain',
        summary: 'Decide again',
        description: 'For this test only.',
        tag: 'decisions',
        pathParameters: { customerId: 'DecisionCustomerId' },
        responses: { 200: { description: 'The decision.', json: decisionSchema }, 400: 'InvalidRequest' },
      },
    });
    const doc = openApiDocument([...ROUTES, added]) as { paths: Record<string, Record<string, any>> };
    const operation = doc.paths['/v1/decisions/{customerId}/again']?.post;
    expect(operation).toMatchObject({
      operationId: 'decideAgain',
      security: [{ bearerAuth: ['decide'] }, { apiKeyHeader: ['decide'] }],
      'x-required-scope': 'decide',
      requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Decision' } } } },
    });
    expect(Object.keys(operation.responses)).toEqual(['200', '400', '401', '403', '413', '500']);
    expect(doc.paths['/v1/decisions/{customerId}/again']?.parameters).toEqual([{ $ref: '#/components/parameters/DecisionCustomerId' }]);
  });

  it('refuses to document a route whose path parameters are not declared, or that refers to a schema with no name', () => {
    const base = { method: 'GET', scope: 'admin', handler: () => (c: Context) => c.body(null, 204) } as const;
    const doc = { operationId: 'test', summary: 'Test', description: 'Test.', tag: 'rules' } as const;
    const undeclared = defineRoute({ ...base, path: '/v1/things/:id', doc: { ...doc, responses: { 204: { description: 'Done.' } } } });
    expect(() => openApiDocument([undeclared])).toThrow(/must declare the parameters of \/v1\/things\/:id/);
    const unnamed = defineRoute({ ...base, path: '/v1/things', doc: { ...doc, responses: { 200: { description: 'A thing.', json: z.object({ a: z.string() }) } } } });
    expect(() => openApiDocument([unnamed])).toThrow(/does not name/);
  });
});
