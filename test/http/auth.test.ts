/**
 * API keys and scopes (contract section 7): every route against every kind of
 * key, both ways of sending one, and the routes that stay open.
 */
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, SCOPES, type ApiKey, type Scope } from '../../src/config.js';
import { AUTH_CHALLENGE, keyMatcher } from '../../src/http/auth.js';
import { OPEN_PATHS, ROUTE_SCOPES, isOpenPath } from '../../src/http/routes.js';
import { createApp } from '../../src/http/app.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createProfileStore } from '../../src/composition.js';
import { createRuleRegistry } from '../../src/reload/registry.js';
import { expectProblem, FIXTURE_RULES_DIR, T0, touchpoint } from './harness.js';

const KEYS = {
  decide: 'key-decide-0123456789',
  ingest: 'key-ingest-0123456789',
  profiles: 'key-profiles-0123456789',
  admin: 'key-admin-0123456789',
  decideAndProfiles: 'key-two-scopes-0123456789',
} as const;

/** Parsed by the real configuration code, as `API_KEYS` would be. */
function configuredKeys(): readonly ApiKey[] {
  const raw = [
    `${KEYS.decide}:decide`,
    `${KEYS.ingest}:ingest`,
    `${KEYS.profiles}:profiles`,
    `${KEYS.admin}:admin`,
    `${KEYS.decideAndProfiles}:decide+profiles`,
  ].join(',');
  const keys = loadConfig({ API_KEYS: raw }).apiKeys;
  if (!keys) throw new Error('API_KEYS did not parse');
  return keys;
}

interface TestApp {
  app: Hono;
  close(): Promise<void>;
}

async function buildApp(apiKeys: readonly ApiKey[] | null): Promise<TestApp> {
  const registry = createRuleRegistry({ dir: FIXTURE_RULES_DIR, logger: silentLogger, now: () => T0 });
  const outcome = await registry.reload();
  if (!outcome.ok) throw new Error('fixture rules are invalid');
  const store = createProfileStore({
    store: 'memory',
    sqlitePath: '',
    retentionDays: 365,
    maxTouchpointsPerProfile: 1000,
    cacheMax: 100,
    now: () => T0,
  });
  const app = createApp({ rules: registry, store, logger: silentLogger, now: () => T0, apiKeys });
  return { app, close: () => store.close() };
}

interface RouteCase {
  method: string;
  url: string;
  body?: unknown;
  /** The scope the contract gives the route. */
  scope: Scope;
}

/** One request for each route, with a body its own validation accepts. */
const ROUTES: readonly RouteCase[] = [
  { method: 'POST', url: '/v1/decisions', body: { customerId: 'c-1', placements: ['home-hero'] }, scope: 'decide' },
  { method: 'GET', url: '/v1/decisions/c-1?placement=home-hero', scope: 'decide' },
  { method: 'POST', url: '/v1/decisions/batch', body: { requests: [{ customerId: 'c-1', placements: ['home-hero'] }] }, scope: 'decide' },
  { method: 'POST', url: '/v1/customers/c-1/touchpoints', body: touchpoint(), scope: 'ingest' },
  { method: 'PATCH', url: '/v1/customers/c-1', body: { attributes: { tier: 'gold' } }, scope: 'ingest' },
  { method: 'GET', url: '/v1/customers/c-1', scope: 'profiles' },
  { method: 'DELETE', url: '/v1/customers/c-1', scope: 'profiles' },
  { method: 'GET', url: '/v1/rules', scope: 'admin' },
  // A made-up decision id: the scope is checked before the body, and a key with the scope gets the 400.
  { method: 'POST', url: '/v1/outcomes', body: { decisionId: 'x', customerId: 'c-1', placement: 'home-hero', item: 'hero-welcome', kind: 'click' }, scope: 'ingest' },
];

interface KeyCase {
  name: string;
  key: string;
  scopes: readonly Scope[];
}

const KEY_CASES: readonly KeyCase[] = [
  { name: 'decide', key: KEYS.decide, scopes: ['decide'] },
  { name: 'ingest', key: KEYS.ingest, scopes: ['ingest'] },
  { name: 'profiles', key: KEYS.profiles, scopes: ['profiles'] },
  { name: 'admin', key: KEYS.admin, scopes: ['admin'] },
  { name: 'decide+profiles', key: KEYS.decideAndProfiles, scopes: ['decide', 'profiles'] },
];

const allows = (scopes: readonly Scope[], needed: Scope) => scopes.includes('admin') || scopes.includes(needed);

function send(app: Hono, route: RouteCase, headers: Record<string, string> = {}): Promise<Response> {
  const init: RequestInit = { method: route.method, headers: { ...headers } };
  if (route.body !== undefined) {
    init.body = JSON.stringify(route.body);
    (init.headers as Record<string, string>)['Content-Type'] = 'application/json';
  }
  return Promise.resolve(app.request(route.url, init));
}

const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });
const xApiKey = (key: string) => ({ 'X-API-Key': key });

async function expectUnauthorized(res: Response, presented?: string): Promise<void> {
  expect(res.headers.get('www-authenticate')).toBe(AUTH_CHALLENGE);
  const body = await expectProblem(res, 401);
  expect(body.type).toBe('/problems/unauthorized');
  if (presented) expect(JSON.stringify(body)).not.toContain(presented);
}

describe('API keys: every route × every scope', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildApp(configuredKeys());
  });
  afterAll(() => t.close());

  const table = ROUTES.flatMap((route) =>
    KEY_CASES.flatMap((k) =>
      (['Bearer', 'X-API-Key'] as const).map((via) => ({ route, k, via, allowed: allows(k.scopes, route.scope) })),
    ),
  );

  it.each(table.map((row) => [`${row.route.method} ${row.route.url}`, row.k.name, row.via, row.allowed ? 'allowed' : '403', row] as const))(
    '%s with a %s key via %s: %s',
    async (_route, _key, _via, _expected, { route, k, via, allowed }) => {
      const res = await send(t.app, route, via === 'Bearer' ? bearer(k.key) : xApiKey(k.key));
      if (allowed) {
        // The route's own checks may still answer 400 or 404; authentication and scopes let it through.
        expect([401, 403], `status ${res.status}: ${await res.clone().text()}`).not.toContain(res.status);
        expect(res.status).toBeLessThan(500);
        return;
      }
      const body = await expectProblem(res, 403);
      expect(body.type).toBe('/problems/forbidden');
      expect(body.scope).toBe(route.scope);
      expect(body.detail).toContain(`"${route.scope}"`);
      expect(JSON.stringify(body)).not.toContain(k.key);
      expect(res.headers.get('www-authenticate')).toBeNull();
    },
  );

  it('the contract routes answer their usual success status with the right key', async () => {
    const expected: Record<string, number> = {
      'PATCH /v1/customers/c-1': 200,
      'POST /v1/customers/c-1/touchpoints': 202,
      'GET /v1/customers/c-1': 200,
      'POST /v1/decisions': 200,
      'GET /v1/decisions/c-1?placement=home-hero': 200,
      'POST /v1/decisions/batch': 200,
      'GET /v1/rules': 200,
      'DELETE /v1/customers/c-1': 204,
    };
    for (const [line, status] of Object.entries(expected)) {
      const route = ROUTES.find((r) => `${r.method} ${r.url}` === line);
      if (!route) throw new Error(`no route case for ${line}`);
      const keyFor: Record<Scope, string> = { decide: KEYS.decide, ingest: KEYS.ingest, profiles: KEYS.profiles, admin: KEYS.admin };
      const res = await send(t.app, route, bearer(keyFor[route.scope]));
      expect(res.status, line).toBe(status);
    }
  });

  describe.each(ROUTES.map((r) => [`${r.method} ${r.url}`, r] as const))('%s', (_name, route) => {
    it('without a key: 401 problem+json with WWW-Authenticate', async () => {
      await expectUnauthorized(await send(t.app, route));
    });

    it('with an unknown key: 401, the key not echoed', async () => {
      await expectUnauthorized(await send(t.app, route, bearer('not-a-key-at-all')), 'not-a-key-at-all');
      await expectUnauthorized(await send(t.app, route, xApiKey('not-a-key-at-all')), 'not-a-key-at-all');
    });

    it('with a prefix or an extension of a real key: 401', async () => {
      await expectUnauthorized(await send(t.app, route, bearer(KEYS.admin.slice(0, -1))));
      await expectUnauthorized(await send(t.app, route, bearer(`${KEYS.admin}x`)));
      await expectUnauthorized(await send(t.app, route, bearer(KEYS.admin.toUpperCase())));
    });

    it('with an empty Bearer, a bare "Bearer" or an empty X-API-Key: 401', async () => {
      await expectUnauthorized(await send(t.app, route, { Authorization: 'Bearer ' }));
      await expectUnauthorized(await send(t.app, route, { Authorization: 'Bearer' }));
      await expectUnauthorized(await send(t.app, route, { 'X-API-Key': '' }));
      await expectUnauthorized(await send(t.app, route, { 'X-API-Key': '   ' }));
    });

    it('with another scheme in Authorization (Basic) and no X-API-Key: 401', async () => {
      await expectUnauthorized(await send(t.app, route, { Authorization: `Basic ${Buffer.from(`u:${KEYS.admin}`).toString('base64')}` }));
    });

    it('accepts a lower-case or upper-case "bearer" scheme and extra spaces', async () => {
      for (const header of [`bearer ${KEYS.admin}`, `BEARER ${KEYS.admin}`, `Bearer   ${KEYS.admin}  `]) {
        const res = await send(t.app, route, { Authorization: header });
        expect([401, 403], header).not.toContain(res.status);
      }
    });

    it('a Bearer header wins over X-API-Key', async () => {
      const wrongBearer = await send(t.app, route, { ...bearer('not-a-key'), ...xApiKey(KEYS.admin) });
      await expectUnauthorized(wrongBearer);
      const rightBearer = await send(t.app, route, { ...bearer(KEYS.admin), ...xApiKey('not-a-key') });
      expect([401, 403]).not.toContain(rightBearer.status);
    });
  });
});

describe('API keys: open and unknown paths', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildApp(configuredKeys());
  });
  afterAll(() => t.close());

  it('/healthz and /readyz answer 200 without a key', async () => {
    expect((await t.app.request('/healthz')).status).toBe(200);
    expect((await t.app.request('/readyz')).status).toBe(200);
  });

  it.each([...OPEN_PATHS, '/docs/some-asset.css'])('%s never asks for a key (without one, or with an unknown one)', async (path) => {
    for (const headers of [{}, bearer('not-a-key')]) {
      const res = await t.app.request(path, { headers });
      expect([401, 403]).not.toContain(res.status);
      expect(res.headers.get('www-authenticate')).toBeNull();
    }
  });

  it('an unknown path answers 401 without a key (it does not reveal which routes exist) and 404 with any valid key', async () => {
    for (const path of ['/v1/nope', '/v1/customers', '/v1/decisions/c-1/extra', '/admin', '/index.html']) {
      await expectUnauthorized(await t.app.request(path));
      for (const k of KEY_CASES) {
        await expectProblem(await t.app.request(path, { headers: xApiKey(k.key) }), 404);
      }
    }
  });

  it('a method a route does not have answers 401 without a key and 404 with one', async () => {
    await expectUnauthorized(await t.app.request('/v1/rules', { method: 'DELETE' }));
    await expectProblem(await t.app.request('/v1/rules', { method: 'DELETE', headers: bearer(KEYS.admin) }), 404);
  });

  it('authentication comes before the body limit: a huge body without a key is a 401, not a 413', async () => {
    const res = await t.app.request('/v1/decisions', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Content-Length': String(10 * 1024 * 1024) },
      body: 'x'.repeat(2 * 1024 * 1024),
    });
    await expectUnauthorized(res);
  });

  it('no path that looks open but is not slips through (prefix tricks)', () => {
    expect(isOpenPath('/healthz')).toBe(true);
    expect(isOpenPath('/docs')).toBe(true);
    expect(isOpenPath('/docs/index.css')).toBe(true);
    for (const path of ['/healthz/x', '/healthzz', '/docsx', '/v1/healthz', '/metrics/../v1/rules', '/openapi.jsonx']) {
      expect(isOpenPath(path), path).toBe(false);
    }
  });
});

describe('API keys: none configured', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildApp(null);
  });
  afterAll(() => t.close());

  it.each(ROUTES.map((r) => [`${r.method} ${r.url}`, r] as const))('%s is open without a key', async (_name, route) => {
    const res = await send(t.app, route);
    expect([401, 403]).not.toContain(res.status);
    expect(res.status).toBeLessThan(500);
    expect(res.headers.get('www-authenticate')).toBeNull();
  });

  it('a key sent anyway is ignored, whatever it is', async () => {
    const route = ROUTES.find((r) => r.scope === 'admin')!;
    expect((await send(t.app, route, bearer('anything'))).status).toBe(200);
  });

  it('an unknown path is a plain 404', async () => {
    await expectProblem(await t.app.request('/v1/nope'), 404);
  });
});

describe('API keys: the scope table', () => {
  it('gives each route the scope the contract names', () => {
    const table = Object.fromEntries(ROUTE_SCOPES.map((r) => [`${r.method} ${r.path}`, r.scope]));
    expect(table).toEqual({
      'POST /v1/decisions': 'decide',
      'GET /v1/decisions/:customerId': 'decide',
      'POST /v1/decisions/batch': 'decide',
      'POST /v1/decisions/stream': 'decide',
      'POST /v1/customers/:id/touchpoints': 'ingest',
      'PATCH /v1/customers/:id': 'ingest',
      'POST /v1/customers/:id/aliases': 'ingest',
      'GET /v1/customers/:id': 'profiles',
      'DELETE /v1/customers/:id': 'profiles',
      'GET /v1/rules': 'admin',
      'POST /v1/outcomes': 'ingest',
      'GET /v1/reports/journey': 'admin',
      'POST /v1/simulate': 'admin',
      'GET /v1/reports/placements/:placement': 'admin',
    });
    expect(new Set(ROUTE_SCOPES.map((r) => r.scope))).toEqual(new Set(SCOPES));
  });

  it('covers every route the app serves, so a new route cannot be reached with a key of any scope by accident', async () => {
    const t = await buildApp(null);
    try {
      const served = t.app.routes
        .filter((r) => r.method !== 'ALL' && !r.path.endsWith('*') && !isOpenPath(r.path))
        .map((r) => `${r.method} ${r.path}`);
      const scoped = ROUTE_SCOPES.map((r) => `${r.method} ${r.path}`);
      expect([...new Set(served)].sort()).toEqual([...scoped].sort());
    } finally {
      await t.close();
    }
  });
});

describe('keyMatcher', () => {
  const keys = configuredKeys();
  const match = keyMatcher(keys);

  it('finds the scopes of each configured key', () => {
    expect([...(match(KEYS.decide) ?? [])]).toEqual(['decide']);
    expect([...(match(KEYS.decideAndProfiles) ?? [])].sort()).toEqual(['decide', 'profiles']);
    expect([...(match(KEYS.admin) ?? [])]).toEqual(['admin']);
  });

  it('rejects anything else, whatever its length', () => {
    for (const presented of ['', 'k', KEYS.decide.slice(0, -1), `${KEYS.decide} `, 'x'.repeat(10_000), KEYS.decide.replace('key', 'kez')]) {
      expect(match(presented)).toBeNull();
    }
  });

  it('with no keys at all matches nothing', () => {
    expect(keyMatcher([])('anything')).toBeNull();
  });
});
