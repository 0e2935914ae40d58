import { fileURLToPath } from 'node:url';
import type { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig, type Scope } from '../../src/config.js';
import { StoreUnavailableError } from '../../src/domain/errors.js';
import { createApp } from '../../src/http/app.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { createLogger, silentLogger, type LogLevel } from '../../src/observability/logger.js';
import { createProfileStore } from '../../src/composition.js';
import { startService } from '../../src/main.js';
import type { ProfileStore } from '../../src/profiles/store.js';
import { createRuleRegistry } from '../../src/reload/registry.js';
import { FIXTURE_RULES_DIR, fixedClock, touchpoint } from './harness.js';

type Line = Record<string, unknown> & { level: string; msg: string };

interface Setup {
  app: Hono;
  lines: Line[];
  /** The request log lines only. */
  requests(): Line[];
  request(method: string, url: string, init?: { body?: unknown; headers?: Record<string, string> }): Promise<Response>;
}

const stores: ProfileStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

/** A lines-collecting pino destination. */
function capture(): { lines: Line[]; destination: { write(line: string): void } } {
  const lines: Line[] = [];
  return { lines, destination: { write: (line) => void lines.push(JSON.parse(line) as Line) } };
}

async function setup(
  options: { level?: LogLevel; metrics?: boolean; apiKeys?: Array<{ key: string; scopes: ReadonlySet<Scope> }>; wrapStore?: (s: ProfileStore) => ProfileStore } = {},
): Promise<Setup> {
  const clock = fixedClock();
  const { lines, destination } = capture();
  const logger = createLogger({ level: options.level ?? 'info', destination });
  const registry = createRuleRegistry({ dir: FIXTURE_RULES_DIR, logger: silentLogger, now: clock.now });
  await registry.reload();
  const store = createProfileStore({ store: 'memory', sqlitePath: '', retentionDays: 365, maxTouchpointsPerProfile: 1000, cacheMax: 100, now: clock.now });
  stores.push(store);
  const app = createApp({
    rules: registry,
    store: options.wrapStore ? options.wrapStore(store) : store,
    logger,
    now: clock.now,
    ...(options.metrics === false ? {} : { metrics: createMetrics({ processMetrics: false }) }),
    ...(options.apiKeys ? { apiKeys: options.apiKeys } : {}),
  });
  return {
    app,
    lines,
    requests: () => lines.filter((l) => l.msg === 'request'),
    request(method, url, init = {}) {
      const headers: Record<string, string> = { ...(init.body === undefined ? {} : { 'Content-Type': 'application/json' }), ...init.headers };
      return Promise.resolve(
        app.request(url, { method, headers, ...(init.body === undefined ? {} : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }) }),
      );
    },
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('request log', () => {
  it('writes one JSON line per request: id, method, route, status, latency', async () => {
    const s = await setup();
    const res = await s.request('POST', '/v1/decisions', { body: { customerId: 'c-1', placements: ['home-hero'] } });
    expect(res.status).toBe(200);
    const lines = s.requests();
    expect(lines).toHaveLength(1);
    const line = lines[0] as Line;
    expect(line).toMatchObject({ level: 'info', msg: 'request', method: 'POST', route: '/v1/decisions', status: 200 });
    expect(line.requestId).toMatch(UUID);
    expect(res.headers.get('X-Request-Id')).toBe(line.requestId);
    expect(typeof line.latencyMs).toBe('number');
    expect(line.latencyMs as number).toBeGreaterThanOrEqual(0);
    expect(Date.parse(line.time as string)).not.toBeNaN();
    // Nothing else in the line: no path, query, headers or body.
    expect(Object.keys(line).sort()).toEqual(['latencyMs', 'level', 'method', 'msg', 'requestId', 'route', 'status', 'time']);

    await s.request('GET', '/v1/rules');
    await s.request('POST', '/v1/decisions', { body: { customerId: 'c-2', placements: ['nope'] } });
    expect(s.requests().map((l) => [l.method, l.route, l.status])).toEqual([
      ['POST', '/v1/decisions', 200],
      ['GET', '/v1/rules', 200],
      ['POST', '/v1/decisions', 400],
    ]);
    const ids = new Set(s.requests().map((l) => l.requestId));
    expect(ids.size).toBe(3);
  });

  it('honours a sane incoming X-Request-Id and echoes it', async () => {
    const s = await setup();
    for (const id of ['abc', 'trace-1.2:3_4', 'A'.repeat(128), '0af7651916cd43dd8448eb211c80319c']) {
      const res = await s.request('GET', '/v1/decisions/c-1?placement=home-hero', { headers: { 'X-Request-Id': id } });
      expect(res.headers.get('X-Request-Id')).toBe(id);
      expect(s.requests().at(-1)?.requestId).toBe(id);
    }
  });

  it('replaces a hostile or oversized X-Request-Id with a fresh UUID', async () => {
    const s = await setup();
    const hostile = ['', 'A'.repeat(129), 'has space', 'quote"d', 'new\\nline', '<script>', 'a/b', 'ünïcode', '{"level":"fatal"}', 'a,b'];
    for (const id of hostile) {
      const res = await s.request('GET', '/healthz', { headers: { 'X-Request-Id': id } });
      const echoed = res.headers.get('X-Request-Id');
      expect(echoed, JSON.stringify(id)).toMatch(UUID);
    }
    const s2 = await setup({ level: 'debug' });
    await s2.request('POST', '/v1/customers/c-1/touchpoints', { body: touchpoint(), headers: { 'X-Request-Id': 'x"}{"injected":true' } });
    const [line] = s2.requests();
    expect(line?.requestId).toMatch(UUID);
    expect(line).not.toHaveProperty('injected');
  });

  it('logs the route pattern, never the customer id in the path', async () => {
    const s = await setup();
    const id = 'secret-customer-42';
    await s.request('POST', `/v1/customers/${id}/touchpoints`, { body: touchpoint() });
    await s.request('PATCH', `/v1/customers/${id}`, { body: { attributes: { tier: 'gold' } } });
    await s.request('GET', `/v1/customers/${id}`);
    await s.request('GET', `/v1/decisions/${id}?placement=home-hero&device=mobile`);
    await s.request('DELETE', `/v1/customers/${id}`);
    await s.request('GET', `/v1/customers/${id}`); // 404: the problem's detail names the id, the log does not
    await s.request('GET', `/v1/${id}/nothing-here`);
    expect(s.requests().map((l) => [l.method, l.route, l.status])).toEqual([
      ['POST', '/v1/customers/:id/touchpoints', 202],
      ['PATCH', '/v1/customers/:id', 200],
      ['GET', '/v1/customers/:id', 200],
      ['GET', '/v1/decisions/:customerId', 200],
      ['DELETE', '/v1/customers/:id', 204],
      ['GET', '/v1/customers/:id', 404],
      ['GET', 'unmatched', 404],
    ]);
    expect(JSON.stringify(s.lines)).not.toContain(id);
    expect(JSON.stringify(s.lines)).not.toContain('mobile');
  });

  it('names the route a middleware answered for: 413 and 401 are logged under the handler they were meant for', async () => {
    const s = await setup({ apiKeys: [{ key: 'the-secret-key', scopes: new Set<Scope>(['decide']) }] });
    const unauthorized = await s.request('POST', '/v1/customers/customer-zq/touchpoints', { body: touchpoint() });
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.headers.get('X-Request-Id')).toMatch(UUID);
    const forbidden = await s.request('GET', '/v1/customers/customer-zq', { headers: { Authorization: 'Bearer the-secret-key' } });
    expect(forbidden.status).toBe(403);
    const tooLarge = await s.request('POST', '/v1/decisions', {
      body: JSON.stringify({ customerId: 'customer-zq', placements: ['home-hero'], context: { pad: 'x'.repeat(2 * 1024 * 1024) } }),
      headers: { Authorization: 'Bearer the-secret-key' },
    });
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.headers.get('X-Request-Id')).toMatch(UUID);
    expect(s.requests().map((l) => [l.route, l.status])).toEqual([
      ['/v1/customers/:id/touchpoints', 401],
      ['/v1/customers/:id', 403],
      ['/v1/decisions', 413],
    ]);
    expect(JSON.stringify(s.lines)).not.toContain('the-secret-key');
    expect(JSON.stringify(s.lines)).not.toContain('customer-zq');
  });

  it('logs a 5xx at error level with the stack, on the one line of the request', async () => {
    const s = await setup({
      wrapStore: (store) => ({ ...store, kind: store.kind, getForDecision: () => Promise.reject(new Error('disk on fire')) }),
    });
    const res = await s.request('POST', '/v1/decisions', { body: { customerId: 'c-1', placements: ['home-hero'] }, headers: { 'X-Request-Id': 'req-500' } });
    expect(res.status).toBe(500);
    expect(res.headers.get('X-Request-Id')).toBe('req-500');
    expect(s.lines).toHaveLength(1);
    const line = s.lines[0] as Line;
    expect(line).toMatchObject({ level: 'error', msg: 'request', requestId: 'req-500', route: '/v1/decisions', status: 500 });
    const err = line.err as { type: string; message: string; stack: string };
    expect(err.message).toBe('disk on fire');
    expect(err.stack).toContain('Error: disk on fire');
    expect(err.stack).toMatch(/\n\s+at /);
  });

  it('logs a 503 for an unavailable store as a warning with its reason and no stack: an outage must not bury the log', async () => {
    const s = await setup({
      wrapStore: (store) => ({
        ...store,
        kind: store.kind,
        appendTouchpoints: () => Promise.reject(new StoreUnavailableError('the redis profile store failed appendTouchpoints: connection closed')),
      }),
    });
    const res = await s.request('POST', '/v1/customers/c-1/touchpoints', { body: touchpoint(), headers: { 'X-Request-Id': 'req-503' } });
    expect(res.status).toBe(503);
    expect(s.requests()).toHaveLength(1);
    const line = s.requests()[0] as Line;
    expect(line).toMatchObject({
      level: 'warn',
      requestId: 'req-503',
      route: '/v1/customers/:id/touchpoints',
      status: 503,
      error: 'the redis profile store failed appendTouchpoints: connection closed',
    });
    expect(line.err).toBeUndefined();
  });

  it('logs health probes and scrapes at debug only', async () => {
    const info = await setup({ level: 'info' });
    for (const url of ['/healthz', '/readyz', '/metrics']) expect((await info.request('GET', url)).status).toBe(200);
    expect(info.requests()).toEqual([]);

    const debug = await setup({ level: 'debug' });
    for (const url of ['/healthz', '/readyz', '/metrics']) await debug.request('GET', url);
    expect(debug.requests().map((l) => [l.level, l.route, l.status])).toEqual([
      ['debug', '/healthz', 200],
      ['debug', '/readyz', 200],
      ['debug', '/metrics', 200],
    ]);
  });

  it('respects the level: at warn, only 5xx requests are logged', async () => {
    let fail = false;
    const s = await setup({
      level: 'warn',
      wrapStore: (store) => ({ ...store, kind: store.kind, get: (id) => (fail ? Promise.reject(new Error('boom')) : store.get(id)) }),
    });
    await s.request('POST', '/v1/customers/c-1/touchpoints', { body: touchpoint() });
    await s.request('GET', '/v1/customers/c-1');
    await s.request('GET', '/nowhere');
    expect(s.lines).toEqual([]);
    fail = true;
    await s.request('GET', '/v1/customers/c-1');
    expect(s.lines.map((l) => [l.level, l.route, l.status])).toEqual([['error', '/v1/customers/:id', 500]]);
  });

  it('works without metrics', async () => {
    const s = await setup({ metrics: false });
    expect((await s.request('GET', '/v1/decisions/c-1?placement=home-hero')).status).toBe(200);
    expect(s.requests()).toHaveLength(1);
  });
});

describe('start-up line', () => {
  it('logs the configuration with the number of API keys and their scopes, never a key', async () => {
    const { lines, destination } = capture();
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      RULES_DIR: fileURLToPath(new URL('../fixtures/minimal-rules/', import.meta.url)),
      STORE: 'memory',
      RULES_POLL_INTERVAL_MS: '0',
      LOG_LEVEL: 'debug',
      API_KEYS: 'k3y-alpha-0001:decide+ingest,k3y-bravo-0002:admin',
    });
    const service = await startService(config, createLogger({ level: config.logLevel, destination }));
    try {
      const listening = lines.find((l) => l.msg === 'nextbest listening');
      expect(listening).toMatchObject({ level: 'info', logLevel: 'debug', store: 'memory', auth: { keys: 2, scopes: ['decide+ingest', 'admin'] } });
      await fetch(`${service.url}/v1/rules`, { headers: { Authorization: 'Bearer k3y-bravo-0002' } });
    } finally {
      await service.stop();
    }
    const everything = JSON.stringify(lines);
    expect(everything).not.toContain('k3y-alpha-0001');
    expect(everything).not.toContain('k3y-bravo-0002');
    expect(lines.filter((l) => l.msg === 'request').map((l) => [l.route, l.status])).toEqual([['/v1/rules', 200]]);
  });
});
