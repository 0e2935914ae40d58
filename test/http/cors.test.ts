/**
 * CORS_ORIGINS: browsers on allowed origins may call the API (with a key),
 * preflights need no key, other origins get no CORS header at all.
 */
import type { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig, type ApiKey } from '../../src/config.js';
import { createApp } from '../../src/http/app.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createProfileStore } from '../../src/composition.js';
import { createRuleRegistry } from '../../src/reload/registry.js';
import { expectProblem, FIXTURE_RULES_DIR, T0 } from './harness.js';

const ALLOWED = 'https://shop.example.com';
const OTHER = 'https://evil.example.net';
const KEY = 'browser-key-0123456789';

let closeStore: (() => Promise<void>) | undefined;
afterEach(async () => {
  await closeStore?.();
  closeStore = undefined;
});

async function buildApp(env: { CORS_ORIGINS?: string; API_KEYS?: string }): Promise<Hono> {
  const config = loadConfig(env);
  const registry = createRuleRegistry({ dir: FIXTURE_RULES_DIR, logger: silentLogger, now: () => T0 });
  if (!(await registry.reload()).ok) throw new Error('fixture rules are invalid');
  const store = createProfileStore({ store: 'memory', sqlitePath: '', retentionDays: 365, maxTouchpointsPerProfile: 1000, cacheMax: 100, now: () => T0 });
  closeStore = () => store.close();
  const apiKeys: readonly ApiKey[] | null = config.apiKeys;
  return createApp({ rules: registry, store, logger: silentLogger, now: () => T0, apiKeys, corsOrigins: config.corsOrigins });
}

function preflight(app: Hono, origin: string, path = '/v1/decisions'): Promise<Response> {
  return Promise.resolve(
    app.request(path, {
      method: 'OPTIONS',
      headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization,content-type' },
    }),
  );
}

/** Every Access-Control-* header of an answer. */
function corsHeaders(res: Response): Record<string, string> {
  return Object.fromEntries([...res.headers.entries()].filter(([name]) => name.startsWith('access-control-')));
}

const list = (value: string | null) => (value ?? '').split(',').map((v) => v.trim().toLowerCase());

describe('CORS', () => {
  it('CORS_ORIGINS unset: no CORS header on a preflight or on a request', async () => {
    const app = await buildApp({});
    expect(corsHeaders(await preflight(app, ALLOWED))).toEqual({});
    expect(corsHeaders(await app.request('/v1/rules', { headers: { Origin: ALLOWED } }))).toEqual({});
  });

  it('a preflight from an allowed origin answers 204 with the methods, headers and max age', async () => {
    const app = await buildApp({ CORS_ORIGINS: `${ALLOWED}, https://other-allowed.example.com` });
    const res = await preflight(app, ALLOWED);
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(list(res.headers.get('access-control-allow-methods'))).toEqual(expect.arrayContaining(['get', 'post', 'patch', 'delete', 'options']));
    expect(list(res.headers.get('access-control-allow-headers'))).toEqual(
      expect.arrayContaining(['authorization', 'x-api-key', 'content-type', 'x-request-id']),
    );
    expect(list(res.headers.get('access-control-expose-headers'))).toContain('x-request-id');
    expect(Number(res.headers.get('access-control-max-age'))).toBeGreaterThan(0);
    expect(list(res.headers.get('vary'))).toContain('origin');
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('an actual request from an allowed origin carries Allow-Origin and exposes X-Request-Id', async () => {
    const app = await buildApp({ CORS_ORIGINS: ALLOWED });
    const res = await app.request('/v1/rules', { headers: { Origin: ALLOWED } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(list(res.headers.get('access-control-expose-headers'))).toContain('x-request-id');
    expect(list(res.headers.get('vary'))).toContain('origin');
  });

  it('a disallowed origin gets no CORS header at all, on a preflight or a request', async () => {
    const app = await buildApp({ CORS_ORIGINS: ALLOWED });
    const pre = await preflight(app, OTHER);
    expect(pre.status).toBe(204);
    expect(corsHeaders(pre)).toEqual({});
    expect(list(pre.headers.get('vary'))).toContain('origin');
    const res = await app.request('/v1/rules', { headers: { Origin: OTHER } });
    expect(res.status).toBe(200);
    expect(corsHeaders(res)).toEqual({});
    expect(list(res.headers.get('vary'))).toContain('origin');
    // An origin is matched whole, not by prefix or suffix.
    expect(corsHeaders(await preflight(app, `${ALLOWED}.evil.example.net`))).toEqual({});
    expect(corsHeaders(await preflight(app, 'http://shop.example.com'))).toEqual({});
  });

  it('"*" allows any origin', async () => {
    const app = await buildApp({ CORS_ORIGINS: '*' });
    for (const origin of [ALLOWED, OTHER]) {
      const pre = await preflight(app, origin);
      expect(pre.status).toBe(204);
      expect(pre.headers.get('access-control-allow-origin')).toBe('*');
      expect(list(pre.headers.get('access-control-allow-headers'))).toContain('x-api-key');
      const res = await app.request('/v1/rules', { headers: { Origin: origin } });
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
    }
  });

  it('with API keys configured, a preflight needs no key, on every API route', async () => {
    const app = await buildApp({ CORS_ORIGINS: ALLOWED, API_KEYS: `${KEY}:decide` });
    for (const path of ['/v1/decisions', '/v1/decisions/batch', '/v1/decisions/c-1', '/v1/customers/c-1', '/v1/customers/c-1/touchpoints', '/v1/rules']) {
      const res = await preflight(app, ALLOWED, path);
      expect(res.status, path).toBe(204);
      expect(res.headers.get('access-control-allow-origin'), path).toBe(ALLOWED);
    }
  });

  it('401 and 403 answers carry the CORS headers, so the page can read them', async () => {
    const app = await buildApp({ CORS_ORIGINS: ALLOWED, API_KEYS: `${KEY}:decide` });
    const unauthorized = await app.request('/v1/decisions/c-1?placement=home-hero', { headers: { Origin: ALLOWED } });
    expect(unauthorized.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    await expectProblem(unauthorized, 401);
    const forbidden = await app.request('/v1/rules', { headers: { Origin: ALLOWED, Authorization: `Bearer ${KEY}` } });
    expect(forbidden.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    await expectProblem(forbidden, 403);
    const allowed = await app.request('/v1/decisions/c-1?placement=home-hero', { headers: { Origin: ALLOWED, 'X-API-Key': KEY } });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(ALLOWED);
  });

  it('without CORS_ORIGINS, an OPTIONS request is not a way around the key', async () => {
    const app = await buildApp({ API_KEYS: `${KEY}:decide` });
    const res = await preflight(app, ALLOWED);
    await expectProblem(res, 401);
    expect(corsHeaders(res)).toEqual({});
  });
});
