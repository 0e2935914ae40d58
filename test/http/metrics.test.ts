import fs from 'node:fs';
import path from 'node:path';
import type { Hono } from 'hono';
import { register as globalRegistry } from 'prom-client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Scope } from '../../src/config.js';
import { createApp } from '../../src/http/app.js';
import { createMetrics, type PrometheusMetrics } from '../../src/observability/metrics.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createProfileStore } from '../../src/composition.js';
import type { ProfileStore } from '../../src/profiles/store.js';
import { createRuleRegistry, type RuleRegistry } from '../../src/reload/registry.js';
import { copyFixtureRules, FIXTURE_RULES_DIR, fixedClock, json, removeTempDirs, touchpoint } from './harness.js';

interface Setup {
  app: Hono;
  metrics: PrometheusMetrics;
  registry: RuleRegistry;
  store: ProfileStore;
  request(method: string, url: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  /** GET /metrics, parsed. */
  scrape(): Promise<Exposition>;
}

interface SetupOptions {
  rulesDir?: string;
  processMetrics?: boolean;
  cacheMax?: number;
  /** Wraps the backend behind the cache, inside the metrics' timing. */
  breakBackend?: (store: ProfileStore) => ProfileStore;
  apiKeys?: Array<{ key: string; scopes: ReadonlySet<Scope> }>;
}

const stores: ProfileStore[] = [];

async function setup(options: SetupOptions = {}): Promise<Setup> {
  const clock = fixedClock();
  const registry = createRuleRegistry({ dir: options.rulesDir ?? FIXTURE_RULES_DIR, logger: silentLogger, now: clock.now });
  expect((await registry.reload()).ok).toBe(true);
  const metrics = createMetrics({ processMetrics: options.processMetrics ?? false });
  const store = createProfileStore({
    store: 'memory',
    sqlitePath: '',
    retentionDays: 365,
    maxTouchpointsPerProfile: 1000,
    cacheMax: options.cacheMax ?? 100,
    now: clock.now,
    wrapBackend: (backend) => metrics.instrumentStore(options.breakBackend ? options.breakBackend(backend) : backend),
  });
  stores.push(store);
  const app = createApp({ rules: registry, store, logger: silentLogger, metrics, now: clock.now, ...(options.apiKeys ? { apiKeys: options.apiKeys } : {}) });
  const request = (method: string, url: string, body?: unknown, headers: Record<string, string> = {}) =>
    Promise.resolve(
      app.request(url, {
        method,
        headers: body === undefined ? headers : { 'Content-Type': 'application/json', ...headers },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
    );
  return {
    app,
    metrics,
    registry,
    store,
    request,
    async scrape() {
      const res = await request('GET', '/metrics');
      expect(res.status).toBe(200);
      return parseExposition(await res.text());
    },
  };
}

afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});
afterAll(removeTempDirs);

/** The Prometheus text format, enough of it for these tests. */
interface Exposition {
  text: string;
  types: Map<string, string>;
  samples: Array<{ name: string; labels: Record<string, string>; value: number }>;
  /** The value of the one sample with that name whose labels include `labels`; undefined if none. */
  value(name: string, labels?: Record<string, string>): number | undefined;
  /** Every sample with that name whose labels include `labels`. */
  all(name: string, labels?: Record<string, string>): Array<{ labels: Record<string, string>; value: number }>;
}

function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Exposition['samples'] = [];
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1] as string, type[2] as string);
    if (line === '' || line.startsWith('#')) continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!sample) throw new Error(`unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (sample[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key as string] = value as string;
    samples.push({ name: sample[1] as string, labels, value: Number(sample[3]) });
  }
  const all = (name: string, labels: Record<string, string> = {}) =>
    samples
      .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
      .map((s) => ({ labels: s.labels, value: s.value }));
  return {
    text,
    types,
    samples,
    all,
    value(name, labels) {
      const found = all(name, labels);
      if (found.length > 1) throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}`);
      return found[0]?.value;
    },
  };
}

const decisionBody = (customerId: string, placements = ['home-hero'], extra: Record<string, unknown> = {}) => ({ customerId, placements, ...extra });

describe('GET /metrics', () => {
  it('answers the Prometheus text format with every series of the contract, typed', async () => {
    const s = await setup();
    const res = await s.request('GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const m = parseExposition(await res.text());
    const expected: Record<string, string> = {
      nextbest_decisions_total: 'counter',
      nextbest_decision_duration_seconds: 'histogram',
      nextbest_profile_cache_hits_total: 'counter',
      nextbest_profile_cache_misses_total: 'counter',
      nextbest_rules_reloads_total: 'counter',
      nextbest_touchpoints_ingested_total: 'counter',
      nextbest_touchpoints_duplicates_total: 'counter',
      nextbest_placement_decisions_total: 'counter',
      nextbest_http_request_duration_seconds: 'histogram',
      nextbest_store_operation_duration_seconds: 'histogram',
      nextbest_store_operation_errors_total: 'counter',
      nextbest_profile_cache_entries: 'gauge',
      nextbest_rules_info: 'gauge',
    };
    for (const [name, type] of Object.entries(expected)) expect(m.types.get(name), name).toBe(type);
    expect(m.value('nextbest_decisions_total')).toBe(0);
    expect(m.value('nextbest_decision_duration_seconds_count')).toBe(0);
    expect(m.value('nextbest_touchpoints_ingested_total')).toBe(0);
    expect(m.value('nextbest_profile_cache_hits_total')).toBe(0);
    expect(m.value('nextbest_profile_cache_misses_total')).toBe(0);
    expect(m.value('nextbest_rules_reloads_total', { result: 'success' })).toBe(1);
    expect(m.value('nextbest_rules_reloads_total', { result: 'failure' })).toBe(0);
    expect(m.value('nextbest_rules_info', { version: s.registry.status().version as string })).toBe(1);
  });

  it('counts one decision per customer and request: single, GET and batch members alike', async () => {
    const s = await setup();
    expect((await s.request('POST', '/v1/decisions', decisionBody('c-1'))).status).toBe(200);
    expect((await s.request('GET', '/v1/decisions/c-2?placement=home-hero&placement=sidebar')).status).toBe(200);
    expect((await s.request('POST', '/v1/decisions/batch', { requests: [decisionBody('c-3')] })).status).toBe(200);
    let m = await s.scrape();
    expect(m.value('nextbest_decisions_total')).toBe(3);
    expect(m.value('nextbest_decision_duration_seconds_count')).toBe(3);
    expect(m.value('nextbest_decision_duration_seconds_sum')).toBeGreaterThan(0);
    expect(m.value('nextbest_decision_duration_seconds_bucket', { le: '0.1' })).toBe(3);
    expect(m.value('nextbest_decision_duration_seconds_bucket', { le: '+Inf' })).toBe(3);

    // A batch of three with one invalid request: two decisions.
    const batch = await s.request('POST', '/v1/decisions/batch', {
      requests: [decisionBody('c-4'), decisionBody('c-5', ['no-such-placement']), decisionBody('c-6', ['home-hero'], { context: { device: 'mobile' } })],
    });
    expect(batch.status).toBe(200);
    // Rejected requests are not decisions.
    expect((await s.request('POST', '/v1/decisions', decisionBody('c-7', ['nope']))).status).toBe(400);
    m = await s.scrape();
    expect(m.value('nextbest_decisions_total')).toBe(5);
    expect(m.value('nextbest_decision_duration_seconds_count')).toBe(5);
    // Per placement: home-hero five times, of which the mobile one was served by a rule; sidebar once.
    const homeHero = m.all('nextbest_placement_decisions_total', { placement: 'home-hero' });
    expect(homeHero.reduce((sum, x) => sum + x.value, 0)).toBe(5);
    expect(m.value('nextbest_placement_decisions_total', { placement: 'home-hero', fallback: 'false' })).toBe(1);
    expect(m.value('nextbest_placement_decisions_total', { placement: 'home-hero', fallback: 'true' })).toBe(4);
    expect(m.all('nextbest_placement_decisions_total', { placement: 'sidebar' }).reduce((sum, x) => sum + x.value, 0)).toBe(1);
  });

  it('counts accepted touchpoints, and duplicates apart: 5 sent with 1 duplicate is 4 ingested', async () => {
    const s = await setup();
    const batch = await s.request('POST', '/v1/customers/c-1/touchpoints', {
      touchpoints: [touchpoint({ id: 'tp-1' }), touchpoint({ id: 'tp-2' }), touchpoint({ id: 'tp-3' })],
    });
    expect(await json(batch)).toEqual({ accepted: 3, duplicates: 0, expired: 0 });
    expect(await json(await s.request('POST', '/v1/customers/c-1/touchpoints', touchpoint({ id: 'tp-2' })))).toEqual({ accepted: 0, duplicates: 1, expired: 0 });
    expect(await json(await s.request('POST', '/v1/customers/c-2/touchpoints', touchpoint({ id: 'tp-2' })))).toEqual({ accepted: 1, duplicates: 0, expired: 0 });
    // A rejected body ingests nothing.
    expect((await s.request('POST', '/v1/customers/c-3/touchpoints', { type: 'page_view' })).status).toBe(400);
    const m = await s.scrape();
    expect(m.value('nextbest_touchpoints_ingested_total')).toBe(4);
    expect(m.value('nextbest_touchpoints_duplicates_total')).toBe(1);
  });

  it('reads the profile cache hits, misses and size at scrape time', async () => {
    const s = await setup();
    await s.request('POST', '/v1/decisions', decisionBody('c-1')); // miss
    await s.request('POST', '/v1/decisions', decisionBody('c-1')); // hit
    await s.request('GET', '/v1/decisions/c-1?placement=home-hero'); // hit
    let m = await s.scrape();
    expect(m.value('nextbest_profile_cache_misses_total')).toBe(1);
    expect(m.value('nextbest_profile_cache_hits_total')).toBe(2);
    expect(m.value('nextbest_profile_cache_entries')).toBe(1);

    // A write forgets the entry: the next read misses. The batch reads c-1 (miss) and c-2 (miss), then c-2 hits.
    await s.request('POST', '/v1/customers/c-1/touchpoints', touchpoint());
    await s.request('POST', '/v1/decisions/batch', { requests: [decisionBody('c-1'), decisionBody('c-2')] });
    await s.request('POST', '/v1/decisions', decisionBody('c-2'));
    m = await s.scrape();
    expect(m.value('nextbest_profile_cache_misses_total')).toBe(3);
    expect(m.value('nextbest_profile_cache_hits_total')).toBe(3);
    expect(m.value('nextbest_profile_cache_entries')).toBe(2);
  });

  it('counts reloads by result: a failed reload is result="failure" and the version keeps serving', async () => {
    const rulesDir = copyFixtureRules();
    const s = await setup({ rulesDir });
    const version = s.registry.status().version as string;
    const catalog = path.join(rulesDir, 'catalog.json');
    const good = fs.readFileSync(catalog, 'utf8');
    fs.writeFileSync(catalog, '{ "items": [ }');
    expect((await s.registry.reload()).ok).toBe(false);
    let m = await s.scrape();
    expect(m.value('nextbest_rules_reloads_total', { result: 'failure' })).toBe(1);
    expect(m.value('nextbest_rules_reloads_total', { result: 'success' })).toBe(1);
    expect(m.all('nextbest_rules_info')).toEqual([{ labels: { version }, value: 1 }]);

    // A good reload with other rules: success counts, and the info series names the new version only.
    const changed = JSON.parse(good) as { items: Array<Record<string, unknown>> };
    (changed.items[0] as Record<string, unknown>).title = 'A new title';
    fs.writeFileSync(catalog, JSON.stringify(changed));
    expect((await s.registry.reload()).ok).toBe(true);
    const next = s.registry.status().version as string;
    expect(next).not.toBe(version);
    m = await s.scrape();
    expect(m.value('nextbest_rules_reloads_total', { result: 'failure' })).toBe(1);
    expect(m.value('nextbest_rules_reloads_total', { result: 'success' })).toBe(2);
    expect(m.all('nextbest_rules_info')).toEqual([{ labels: { version: next }, value: 1 }]);
  });

  it('times requests by method, route pattern and status, never by raw path', async () => {
    const s = await setup();
    await s.request('POST', '/v1/customers/secret-customer-1/touchpoints', touchpoint());
    await s.request('POST', '/v1/customers/secret-customer-2/touchpoints', touchpoint());
    await s.request('GET', '/v1/customers/secret-customer-1');
    await s.request('GET', '/v1/customers/secret-customer-3');
    await s.request('GET', '/v1/secret-customer-4/unknown');
    const m = await s.scrape();
    const name = 'nextbest_http_request_duration_seconds_count';
    expect(m.value(name, { method: 'POST', route: '/v1/customers/:id/touchpoints', status: '202' })).toBe(2);
    expect(m.value(name, { method: 'GET', route: '/v1/customers/:id', status: '200' })).toBe(1);
    expect(m.value(name, { method: 'GET', route: '/v1/customers/:id', status: '404' })).toBe(1);
    expect(m.value(name, { method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
    expect(m.text).not.toContain('secret-customer');
  });

  it('times each store call behind the cache by operation, and counts failures', async () => {
    let failPatch = false;
    const s = await setup({
      breakBackend: (backend) => ({
        ...backend,
        kind: backend.kind,
        patch: (...args) => (failPatch ? Promise.reject(new Error('disk on fire')) : backend.patch(...args)),
      }),
    });
    await s.request('POST', '/v1/customers/c-1/touchpoints', touchpoint());
    await s.request('POST', '/v1/decisions', decisionBody('c-1')); // a miss reaches the store
    await s.request('POST', '/v1/decisions', decisionBody('c-1')); // a hit does not
    await s.request('POST', '/v1/decisions/batch', { requests: [decisionBody('c-2'), decisionBody('c-3')] });
    await s.request('GET', '/v1/customers/c-1');
    await s.request('PATCH', '/v1/customers/c-1', { attributes: { tier: 'gold' } });
    failPatch = true;
    expect((await s.request('PATCH', '/v1/customers/c-1', { attributes: { tier: 'silver' } })).status).toBe(503);
    await s.request('GET', '/readyz');
    const m = await s.scrape();
    const count = (operation: string) => m.value('nextbest_store_operation_duration_seconds_count', { operation });
    expect(count('appendTouchpoints')).toBe(1);
    expect(count('getForDecision')).toBe(1);
    expect(count('getManyForDecision')).toBe(1);
    expect(count('get')).toBe(1);
    expect(count('patch')).toBe(2);
    expect(count('ping')).toBe(1);
    expect(m.value('nextbest_store_operation_errors_total', { operation: 'patch' })).toBe(1);
    expect(m.value('nextbest_store_operation_errors_total', { operation: 'get' })).toBeUndefined();
  });

  it('instrumentStore passes every call, result and rejection through', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const inner = createProfileStore({ store: 'memory', sqlitePath: '', retentionDays: 365, maxTouchpointsPerProfile: 10, cacheMax: 0 });
    stores.push(inner);
    const store = metrics.instrumentStore(inner);
    expect(store.kind).toBe(inner.kind);
    const now = Date.now();
    expect(await store.appendTouchpoints('c-1', [{ id: 'a', type: 't', channel: 'web', at: now, properties: null }], now)).toEqual({ customerId: 'c-1', accepted: 1, duplicates: 0, expired: 0 });
    expect((await store.get('c-1'))?.touchpoints).toHaveLength(1);
    expect([...(await store.getMany(['c-1', 'c-2'])).keys()]).toEqual(['c-1']);
    expect((await store.getForDecision('c-1'))?.types).toEqual(['t']);
    expect([...(await store.getManyForDecision(['c-1'])).keys()]).toEqual(['c-1']);
    expect((await store.patch('c-1', { stage: null }, now)).customerId).toBe('c-1');
    expect(await store.sweepExpired(now)).toBe(0);
    await expect(store.ping()).resolves.toBeUndefined();
    expect(await store.delete('c-1')).toBe(true);
    expect(await store.get('c-1')).toBeNull();
    const failing = metrics.instrumentStore({ ...inner, kind: 'x', get: () => Promise.reject(new Error('nope')) });
    await expect(failing.get('c-1')).rejects.toThrow('nope');
    const m = parseExposition(await metrics.render());
    expect(m.value('nextbest_store_operation_errors_total', { operation: 'get' })).toBe(1);
    expect(m.value('nextbest_store_operation_duration_seconds_count', { operation: 'get' })).toBe(3);
  });

  it("includes prom-client's process metrics under their usual names unless turned off", async () => {
    const withDefaults = await (await setup({ processMetrics: true })).scrape();
    expect(withDefaults.types.get('process_cpu_user_seconds_total')).toBe('counter');
    expect(withDefaults.types.get('nodejs_heap_size_total_bytes')).toBe('gauge');
    expect(withDefaults.types.has('nextbest_process_cpu_user_seconds_total')).toBe(false);
    const without = await (await setup({ processMetrics: false })).scrape();
    expect(without.types.has('process_cpu_user_seconds_total')).toBe(false);
  });

  it('keeps each app in a registry of its own, away from the global one', async () => {
    const a = await setup({ processMetrics: true });
    const b = await setup({ processMetrics: true });
    await a.request('POST', '/v1/decisions', decisionBody('c-1'));
    expect((await a.scrape()).value('nextbest_decisions_total')).toBe(1);
    expect((await b.scrape()).value('nextbest_decisions_total')).toBe(0);
    expect(await globalRegistry.metrics()).not.toContain('nextbest_');
  });

  it('stays open when API keys are required, and is absent from an app without metrics', async () => {
    const s = await setup({ apiKeys: [{ key: 'scrape-secret-key', scopes: new Set<Scope>(['decide']) }] });
    expect((await s.request('POST', '/v1/decisions', decisionBody('c-1'))).status).toBe(401);
    const res = await s.request('GET', '/metrics');
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('nextbest_decisions_total 0');

    const registry = createRuleRegistry({ dir: FIXTURE_RULES_DIR, logger: silentLogger });
    await registry.reload();
    const store = createProfileStore({ store: 'memory', sqlitePath: '', retentionDays: 365, maxTouchpointsPerProfile: 10, cacheMax: 10 });
    stores.push(store);
    const bare = createApp({ rules: registry, store, logger: silentLogger });
    expect((await bare.request('/metrics')).status).toBe(404);
    // The routes still work without metrics: the hooks are no-ops.
    const decision = await bare.request('/v1/decisions', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(decisionBody('c-1')),
    });
    expect(decision.status).toBe(200);
  });
});
