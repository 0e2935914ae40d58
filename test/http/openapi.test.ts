/**
 * GET /openapi.json tells the truth about the API, and GET /docs shows it
 * with nothing from outside the service.
 *
 * - The document is sound: OpenAPI 3.1, every $ref resolves, every operation
 *   has an id and answers, every schema compiles with ajv (draft 2020-12, strict).
 * - It is complete: every route the app registers is documented with its
 *   method, and every documented operation is a route; scopes and open paths
 *   agree with auth.ts.
 * - Its examples are valid, and the request examples are sent for real.
 * - Real answers match it: one good request per route and a bad one for every
 *   error status, each answer checked against the schema documented for that
 *   status and content type, twice: as published (open objects: "at least
 *   these fields") and closed, so a field the document does not name fails
 *   too. Every status the document lists for an operation must have been
 *   seen, so it claims no answer that cannot happen.
 */
import { createDecisionSigner, createKeyring, generateDecisionKey } from '../../src/outcomes/decision-id.js';
import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import formatsPlugin from 'ajv-formats';
import type { Hono } from 'hono';
import type * as z from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiKey, Scope } from '../../src/config.js';
import type { Decision, decisionSchema } from '../../src/domain/decision.js';
import { StoreUnavailableError } from '../../src/domain/errors.js';
import type { ProfileView, profileViewSchema } from '../../src/domain/profile.js';
import type { ProblemAnswer, RulesStatusAnswer } from '../../src/domain/responses.js';
import type { ConditionTrace, conditionTraceSchema } from '../../src/domain/trace.js';
import { createApp } from '../../src/http/app.js';
import type { RulesPort } from '../../src/http/deps.js';
import { createMemoryReportStore } from '../../src/reports/memory-report-store.js';
import { createReports, type Reports } from '../../src/reports/reports.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { buildOpenApiDocument, OPEN_PATHS, ROUTE_SCOPES } from '../../src/http/routes.js';
import type { Problem } from '../../src/http/problem.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createProfileStore } from '../../src/composition.js';
import type { ProfileStore } from '../../src/profiles/store.js';
import type { RulesStatus } from '../../src/reload/registry.js';
import { createRuleRegistry, type RuleRegistry } from '../../src/reload/registry.js';
import { FIXTURE_RULES_DIR, T0 } from './harness.js';

// The document is JSON read loosely, as the harness reads answers.
type Doc = Record<string, any>;

const doc = buildOpenApiDocument() as Doc;
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

interface DocumentedOperation {
  method: string;
  path: string;
  operation: Doc;
  /** Path-level parameters and the operation's own. */
  parameters: Doc[];
}

const operations = new Map<string, DocumentedOperation>();
for (const [path, item] of Object.entries(doc.paths as Doc)) {
  for (const method of HTTP_METHODS) {
    const operation = item[method] as Doc | undefined;
    if (!operation) continue;
    operations.set(operation.operationId, {
      method: method.toUpperCase(),
      path,
      operation,
      parameters: [...(item.parameters ?? []), ...(operation.parameters ?? [])].map((p: Doc) => resolve(p)),
    });
  }
}

function operationById(id: string): DocumentedOperation {
  const found = operations.get(id);
  if (!found) throw new Error(`no operation "${id}" in the document`);
  return found;
}

/** Follows a local $ref (once, or until it is not one). */
function resolve(value: Doc): Doc {
  let current = value;
  for (let i = 0; i < 10 && typeof current?.$ref === 'string'; i++) current = pointer(current.$ref);
  return current;
}

function pointer(ref: string): Doc {
  if (!ref.startsWith('#/')) throw new Error(`not a local reference: ${ref}`);
  let node: unknown = doc;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, key)) throw new Error(`unresolved $ref ${ref}`);
    node = (node as Record<string, unknown>)[key];
  }
  return node as Doc;
}

function walk(value: unknown, visit: (node: Record<string, unknown>, at: string) => void, at = '#'): void {
  if (Array.isArray(value)) value.forEach((v, i) => walk(v, visit, `${at}/${i}`));
  else if (typeof value === 'object' && value !== null) {
    visit(value as Record<string, unknown>, at);
    for (const [key, v] of Object.entries(value)) walk(v, visit, `${at}/${key}`);
  }
}

// ---- ajv: the component schemas as one draft 2020-12 bundle ---------------------

const BUNDLE = 'https://nextbest.test/openapi.json';

/** The schema with `#/components/schemas/X` pointed into the bundle. */
function bundled(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(bundled);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    out[key] = key === '$ref' && typeof value === 'string' ? value.replace('#/components/schemas/', `${BUNDLE}#/$defs/`) : bundled(value);
  }
  return out;
}

/**
 * The schema with every object that lists its properties closed to others,
 * except the parts of an allOf (each sees only some of the properties).
 */
function closed(schema: unknown, inAllOf = false): unknown {
  if (Array.isArray(schema)) return schema.map((s) => closed(s, inAllOf));
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) out[key] = closed(value, key === 'allOf');
  if (!inAllOf && out.type === 'object' && out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

function makeAjv(close: boolean): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  // ajv-formats is CommonJS: under Node's ESM its default import is the plugin itself, though its types say otherwise.
  (formatsPlugin as unknown as typeof formatsPlugin.default)(ajv);
  const defs = bundled(structuredClone(doc.components.schemas));
  ajv.addSchema({ $id: BUNDLE, $defs: close ? closed(defs) : defs });
  return ajv;
}

const openAjv = makeAjv(false);
const closedAjv = makeAjv(true);
const compiled = new Map<string, ValidateFunction>();

function validatorFor(schema: Doc, close: boolean): ValidateFunction {
  const key = `${close}:${JSON.stringify(schema)}`;
  let validate = compiled.get(key);
  if (!validate) {
    const ajv = close ? closedAjv : openAjv;
    const prepared = bundled(structuredClone(schema));
    validate = ajv.compile((close ? closed(prepared) : prepared) as object);
    compiled.set(key, validate);
  }
  return validate;
}

/** Every way `value` breaks `schema`, as "path: message" lines; [] when it is valid. */
function violations(schema: Doc, value: unknown, close = false): string[] {
  const validate = validatorFor(schema, close);
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword} ${JSON.stringify(e.params)}`);
}

// ---- the document ----------------------------------------------------------------

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1 with the package version, relative to where it is served', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.title).toBe('nextbest');
    expect(doc.info.version).toBe(pkg.version);
    expect(doc.servers).toBeUndefined();
  });

  it('is built once', () => {
    expect(buildOpenApiDocument()).toBe(doc);
    expect(Object.isFrozen(doc)).toBe(true);
  });

  it('resolves every $ref', () => {
    const unresolved: string[] = [];
    walk(doc, (node, at) => {
      if (typeof node.$ref !== 'string') return;
      try {
        pointer(node.$ref);
      } catch {
        unresolved.push(`${at}: ${node.$ref}`);
      }
    });
    expect(unresolved).toEqual([]);
  });

  it('names every schema it shares and uses every one it names', () => {
    const used = new Set<string>();
    walk(doc, (node) => {
      if (typeof node.$ref === 'string' && node.$ref.startsWith('#/components/schemas/')) used.add(node.$ref.slice('#/components/schemas/'.length));
    });
    const named = Object.keys(doc.components.schemas as Doc);
    expect(named.filter((name) => !/^[A-Z][A-Za-z]+$/.test(name))).toEqual([]);
    expect(named.filter((name) => !used.has(name))).toEqual([]);
    // zod's own plumbing stays out of the document.
    walk(doc.components.schemas, (node, at) => {
      expect(node.$schema, at).toBeUndefined();
      expect(node.$id, at).toBeUndefined();
    });
  });

  it('compiles every component schema with ajv (draft 2020-12, strict)', () => {
    for (const name of Object.keys(doc.components.schemas as Doc)) {
      expect(() => validatorFor({ $ref: `#/components/schemas/${name}` }, false), name).not.toThrow();
      expect(() => validatorFor({ $ref: `#/components/schemas/${name}` }, true), name).not.toThrow();
    }
  });

  it('gives every operation a unique id, a summary, a description, tags, security and answers', () => {
    const ids = [...operations.keys()];
    expect(new Set(ids).size).toBe(ids.length);
    for (const [id, { operation, path, parameters }] of operations) {
      expect(operation.summary, id).toBeTruthy();
      expect(operation.description, id).toBeTruthy();
      expect(operation.tags?.length, id).toBeGreaterThan(0);
      expect(Array.isArray(operation.security), id).toBe(true);
      for (const requirement of operation.security as Doc[]) {
        for (const scheme of Object.keys(requirement)) expect(doc.components.securitySchemes[scheme], `${id}: ${scheme}`).toBeDefined();
      }
      const statuses = Object.keys(operation.responses as Doc);
      expect(statuses.length, id).toBeGreaterThan(0);
      for (const status of statuses) {
        expect(status, id).toMatch(/^[1-5]\d\d$/);
        const response = resolve(operation.responses[status]);
        expect(response.description, `${id} ${status}`).toBeTruthy();
        for (const [type, media] of Object.entries((response.content ?? {}) as Doc)) {
          expect(media.schema, `${id} ${status} ${type}`).toBeDefined();
          expect(() => validatorFor(media.schema, false), `${id} ${status} ${type}`).not.toThrow();
          if (Number(status) >= 400) expect(type, `${id} ${status}`).toBe('application/problem+json');
        }
      }
      // Every {param} of the path is declared, and nothing else is.
      const inPath = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      expect(parameters.filter((p) => p.in === 'path').map((p) => p.name).sort(), id).toEqual(inPath.sort());
      for (const p of parameters) {
        if (p.in === 'path') expect(p.required, `${id} ${p.name}`).toBe(true);
        expect(() => validatorFor(p.schema, false), `${id} ${p.name}`).not.toThrow();
      }
    }
  });

  it('has examples that its own schemas accept', () => {
    const failures: string[] = [];
    const check = (where: string, schema: Doc, value: unknown) => {
      for (const v of violations(schema, value)) failures.push(`${where}: ${v}`);
    };
    for (const [id, { operation, parameters }] of operations) {
      for (const p of parameters) {
        for (const [name, example] of Object.entries((p.examples ?? {}) as Doc)) check(`${id} parameter ${p.name} example ${name}`, p.schema, example.value);
      }
      const body = operation.requestBody ? resolve(operation.requestBody) : undefined;
      for (const [type, media] of Object.entries((body?.content ?? {}) as Doc)) {
        const examples = Object.entries((media.examples ?? {}) as Doc);
        if (examples.length === 0) failures.push(`${id} ${type}: the request body has no example`);
        for (const [name, example] of examples) {
          // NDJSON: the schema is each line's (OpenAPI 3.2's itemSchema), the example the body's text.
          const values = type === 'application/x-ndjson' ? ndjsonValues(example.value as string) : [example.value];
          for (const value of values) check(`${id} request example ${name}`, media.schema, value);
        }
      }
      for (const [status, ref] of Object.entries(operation.responses as Doc)) {
        for (const [type, media] of Object.entries((resolve(ref).content ?? {}) as Doc)) {
          if (media.example !== undefined) check(`${id} ${status} ${type} example`, media.schema, media.example);
          for (const [name, example] of Object.entries((media.examples ?? {}) as Doc)) check(`${id} ${status} ${type} example ${name}`, media.schema, example.value);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it('documents every route the app registers, with its method, and no other', async () => {
    const t = await buildApp({ apiKeys: API_KEYS, metrics: true });
    try {
      const registered = new Set(
        t.app.routes
          // Middleware (auth, CORS, logging, body limits) is not a route of its own; the assets (and `/docs/`, sent to `/docs`) belong to /docs, the console's to /console.
          .filter((r) => r.method !== 'ALL' && !r.path.includes('*') && !r.path.startsWith('/docs/') && !r.path.startsWith('/console/'))
          .map((r) => `${r.method} ${r.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`),
      );
      const documented = new Set([...operations.values()].map((o) => `${o.method} ${o.path}`));
      expect([...registered].filter((r) => !documented.has(r)), 'routes missing from the document').toEqual([]);
      expect([...documented].filter((d) => !registered.has(d)), 'documented operations no route serves').toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('names the scope auth.ts checks for each operation, and opens what auth.ts leaves open', () => {
    for (const { method, path, operation } of operations.values()) {
      const honoPath = path.replace(/\{([^}]+)\}/g, ':$1');
      const route = ROUTE_SCOPES.find((r) => r.method === method && r.path === honoPath);
      const where = `${method} ${path}`;
      if (route) {
        expect(operation['x-required-scope'], where).toBe(route.scope);
        expect(operation.security, where).toEqual([{ bearerAuth: [route.scope] }, { apiKeyHeader: [route.scope] }]);
        expect(operation.description, where).toContain(`\`${route.scope}\``);
        expect(Object.keys(operation.responses as Doc), where).toEqual(expect.arrayContaining(['401', '403']));
      } else {
        expect(OPEN_PATHS, where).toContain(path);
        expect(operation.security, where).toEqual([]);
        expect(operation['x-required-scope'], where).toBeUndefined();
      }
    }
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.components.securitySchemes.apiKeyHeader).toMatchObject({ type: 'apiKey', in: 'header', name: 'X-API-Key' });
  });

  it('describes what the routes build (compile-time: the interfaces fit the response schemas)', () => {
    const fits = <T>(value: T): T => value;
    fits<z.output<typeof decisionSchema>>({} as Decision);
    fits<z.output<typeof profileViewSchema>>({} as ProfileView);
    fits<Omit<RulesStatusAnswer, 'placementRules'>>({} as RulesStatus);
    fits<z.output<typeof conditionTraceSchema>>({} as ConditionTrace);
    fits<ProblemAnswer>({} as Problem);
    expect(true).toBe(true);
  });
});

// ---- real answers ------------------------------------------------------------------

const KEYS: Record<Scope, string> = {
  decide: 'openapi-test-decide-key',
  ingest: 'openapi-test-ingest-key',
  profiles: 'openapi-test-profiles-key',
  admin: 'openapi-test-admin-key',
};
const API_KEYS: readonly ApiKey[] = (Object.entries(KEYS) as Array<[Scope, string]>).map(([scope, key]) => ({ key, scopes: new Set([scope]) }));
/** A key that can do anything except `scope`. */
const keyWithout = (scope: Scope): string => (scope === 'decide' ? KEYS.ingest : KEYS.decide);

const MAX_BODY_BYTES = 16 * 1024;

interface TestApp {
  app: Hono;
  registry: RuleRegistry;
  close(): Promise<void>;
}

interface AppOptions {
  apiKeys?: readonly ApiKey[] | null;
  metrics?: boolean;
  /** Rules not loaded yet. */
  notReady?: boolean;
  /** Every store call fails as a store that cannot be reached does. */
  storeDown?: boolean;
  /** Every store call and the rules status throw an unexpected error. */
  broken?: boolean;
}

async function buildApp(options: AppOptions = {}): Promise<TestApp> {
  const registry = createRuleRegistry({ dir: FIXTURE_RULES_DIR, logger: silentLogger, now: () => T0 });
  if (!(await registry.reload()).ok) throw new Error('fixture rules are invalid');
  const realStore = createProfileStore({ store: 'memory', sqlitePath: '', retentionDays: 365, maxTouchpointsPerProfile: 1000, cacheMax: 100, now: () => T0 });
  let store: ProfileStore = realStore;
  if (options.storeDown) store = failingStore(realStore, () => new StoreUnavailableError('the profile store did not answer within 1000 ms'));
  if (options.broken) store = failingStore(realStore, () => new Error('an unexpected failure'));
  const rules = {
    get current() {
      return options.notReady ? null : registry.current;
    },
    status(): RulesStatus {
      if (options.broken) throw new Error('an unexpected failure');
      return registry.status();
    },
  };
  let ids = 0;
  const app = createApp({
    rules,
    store,
    logger: silentLogger,
    now: () => T0,
    newId: () => `decision-${++ids}`,
    // One key for every app of the test, so an outcome of a decision made by one is valid for all.
    signer: SHARED_SIGNER,
    maxBodyBytes: MAX_BODY_BYTES,
    apiKeys: options.apiKeys ?? null,
    ...(options.metrics ? { metrics: createMetrics({ processMetrics: false }) } : {}),
    ...(options.broken ? { reports: brokenReports(() => registry.current) } : {}),
  });
  return { app, registry, close: () => realStore.close() };
}

/** Reports whose store fails every read with an unexpected error. */
function brokenReports(rules: () => RulesPort['current']): Reports {
  const store = createMemoryReportStore({ retentionDays: 410 });
  return createReports({ store: { ...store, query: () => Promise.reject(new Error('an unexpected failure')) }, rules });
}

/** The store with every call but close() rejected with `error()`. */
function failingStore(store: ProfileStore, error: () => Error): ProfileStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (property === 'close' || typeof value !== 'function') return value;
      return () => Promise.reject(error());
    },
  });
}

const SHARED_SIGNER = createDecisionSigner(createKeyring([generateDecisionKey()]));

interface Exchange {
  operationId: string;
  status: number;
  /** What the exchange shows, for the failure report. */
  why: string;
  url?: string;
  body?: unknown;
  /** The API key to send; default admin; null: none. */
  key?: string | null;
  headers?: Record<string, string>;
}

interface Observed {
  operationId: string;
  status: number;
  body: unknown;
}

/** The path of an operation with c-42 as the customer, plus a query. */
function urlOf(operationId: string, customerId = 'c-42', query = ''): string {
  const path = operationById(operationId).path.replace('{id}', encodeURIComponent(customerId)).replace('{customerId}', encodeURIComponent(customerId)).replace('{placement}', 'home-hero');
  return `${path}${query}`;
}

/** The request body examples of an operation, as the document gives them. */
function requestExamples(operationId: string): Array<[string, unknown]> {
  const body = operationById(operationId).operation.requestBody;
  if (!body) return [];
  const media = Object.values(resolve(body).content as Doc)[0] as Doc;
  return Object.entries((media.examples ?? {}) as Doc).map(([name, example]) => [name, example.value]);
}

function firstExample(operationId: string): unknown {
  return requestExamples(operationId)[0]?.[1];
}

/** A body the body limit refuses: valid JSON, just too much of it. */
const OVERSIZED = { padding: 'x'.repeat(MAX_BODY_BYTES + 1) };

/**
 * Sends one exchange and checks the answer against the document: the status
 * is documented for the operation, its headers are there, and the body is of
 * a documented content type and valid against that type's schema, open and
 * closed. Returns the mismatches, [] when the answer is as documented.
 */
async function exchange(app: Hono, x: Exchange, seen: Observed[]): Promise<string[]> {
  const { method, operation } = operationById(x.operationId);
  const url = x.url ?? urlOf(x.operationId, 'c-42', x.operationId === 'decideByQuery' ? '?placement=home-hero' : '');
  const headers: Record<string, string> = { ...x.headers };
  const key = x.key === undefined ? KEYS.admin : x.key;
  if (key !== null) headers.Authorization = `Bearer ${key}`;
  const init: RequestInit = { method, headers };
  if (x.body !== undefined) {
    init.body = typeof x.body === 'string' ? x.body : JSON.stringify(x.body);
    headers['Content-Type'] = 'application/json';
  }
  const res = await app.request(url, init);
  const text = await res.text();
  const where = `${x.operationId} (${x.why}): ${method} ${url} → ${res.status}`;
  const problems: string[] = [];
  if (res.status !== x.status) problems.push(`${where}: expected ${x.status}; body ${text.slice(0, 300)}`);
  const documented = operation.responses[String(res.status)] as Doc | undefined;
  if (!documented) return [...problems, `${where}: status ${res.status} is not documented; body ${text.slice(0, 300)}`];
  const response = resolve(documented);
  seen.push({ operationId: x.operationId, status: res.status, body: text });
  for (const header of Object.keys((response.headers ?? {}) as Doc)) {
    if (!res.headers.has(header)) problems.push(`${where}: documented header ${header} is missing`);
  }
  const content = response.content as Doc | undefined;
  if (!content) {
    if (text !== '') problems.push(`${where}: documented without a body, got ${text.slice(0, 100)}`);
    return problems;
  }
  const type = (res.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '';
  const media = content[type] as Doc | undefined;
  if (!media) return [...problems, `${where}: content type "${type}" is not documented (${Object.keys(content).join(', ')})`];
  let value: unknown = text;
  if (type === 'application/x-ndjson') {
    // Each line against the schema, which is each line's.
    const values = ndjsonValues(text);
    if (values.length === 0) problems.push(`${where}: an empty NDJSON answer proves nothing`);
    for (const [i, line] of values.entries()) {
      for (const v of violations(media.schema, line)) problems.push(`${where}: line ${i + 1}: ${v}`);
      for (const v of violations(media.schema, line, true)) problems.push(`${where}: line ${i + 1}: (closed) ${v}`);
    }
    if (problems.length === 0) seen[seen.length - 1] = { operationId: x.operationId, status: res.status, body: values };
    return problems;
  }
  if (type.endsWith('json')) {
    try {
      value = JSON.parse(text);
    } catch {
      return [...problems, `${where}: the ${type} body is not JSON`];
    }
  }
  for (const v of violations(media.schema, value)) problems.push(`${where}: ${v}`);
  for (const v of violations(media.schema, value, true)) problems.push(`${where}: (closed) ${v}`);
  if (problems.length === 0) seen[seen.length - 1] = { operationId: x.operationId, status: res.status, body: value };
  return problems;
}

const V1_OPERATIONS = ['appendTouchpoints', 'patchCustomer', 'addAlias', 'getCustomer', 'deleteCustomer', 'decide', 'decideByQuery', 'decideBatch', 'decideStream', 'getRulesStatus', 'placementReport'];

/** The values of an NDJSON text, one a non-blank line. */
function ndjsonValues(text: string): unknown[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as unknown);
}
const BODY_OPERATIONS = ['appendTouchpoints', 'patchCustomer', 'addAlias', 'decide', 'decideBatch', 'simulate'];
/** Admin routes beyond v1's, checked for their own answers and for keys. */
const ADMIN_OPERATIONS = ['getJourneyMap', 'simulate'];

function scopeOf(operationId: string): Scope {
  const scope = operationById(operationId).operation['x-required-scope'] as Scope | undefined;
  if (!scope) throw new Error(`${operationId} has no scope`);
  return scope;
}

describe('real answers match the document', () => {
  const seen: Observed[] = [];
  const mismatches: string[] = [];
  const apps: TestApp[] = [];

  async function run(app: TestApp, exchanges: readonly Exchange[]): Promise<void> {
    for (const x of exchanges) mismatches.push(...(await exchange(app.app, x, seen)));
  }

  beforeAll(async () => {
    const main = await buildApp({ apiKeys: API_KEYS, metrics: true });
    const notReady = await buildApp({ apiKeys: API_KEYS, notReady: true });
    const storeDown = await buildApp({ apiKeys: API_KEYS, storeDown: true });
    const broken = await buildApp({ apiKeys: API_KEYS, broken: true });
    apps.push(main, notReady, storeDown, broken);

    /** An outcome for what a real decision of `app` served (outcomes must carry an id the app signed). */
    async function servedOutcome(app: TestApp, customerId: string): Promise<Record<string, unknown>> {
      const res = await app.app.request('/v1/decisions', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${API_KEYS[0]?.key}` },
        body: JSON.stringify({ customerId, placements: ['home-hero'] }),
      });
      const decision = (await res.json()) as { decisionId: string; placements: Record<string, { items: Array<{ id: string }> }> };
      const item = decision.placements['home-hero']?.items[0]?.id;
      return { decisionId: decision.decisionId, customerId, placement: 'home-hero', item, kind: 'click' };
    }
    const outcome = await servedOutcome(main, 'c-42');
    const downOutcome = await servedOutcome(storeDown, 'c-42');

    // Good requests, the document's own examples first.
    await run(main, [
      { operationId: 'getIndex', status: 200, why: 'the root' },
      { operationId: 'getHealth', status: 200, why: 'alive' },
      { operationId: 'getReadiness', status: 200, why: 'ready' },
      { operationId: 'getMetrics', status: 200, why: 'scrape' },
      { operationId: 'getOpenApiDocument', status: 200, why: 'the document' },
      { operationId: 'getApiReference', status: 200, why: 'the page' },
      { operationId: 'getConsole', status: 200, why: 'the console' },
      ...requestExamples('appendTouchpoints').map(([name, body]) => ({ operationId: 'appendTouchpoints', status: 202, why: `example ${name}`, body })),
      { operationId: 'appendTouchpoints', status: 202, why: 'a duplicate id', body: firstExample('appendTouchpoints') },
      { operationId: 'appendTouchpoints', status: 202, why: 'a purchase, without id or time', body: { type: 'purchase', channel: 'store' }, url: urlOf('appendTouchpoints', 'c-buyer') },
      ...requestExamples('patchCustomer').map(([name, body]) => ({ operationId: 'patchCustomer', status: 200, why: `example ${name}`, body })),
      { operationId: 'patchCustomer', status: 200, why: 'a gold customer', body: { attributes: { tier: 'gold', spend: 5000 } }, url: urlOf('patchCustomer', 'c-gold') },
      ...requestExamples('addAlias').map(([name, body]) => ({ operationId: 'addAlias', status: 200, why: `example ${name}`, body })),
      { operationId: 'addAlias', status: 200, why: 'a repeat', body: firstExample('addAlias') },
      { operationId: 'getCustomer', status: 200, why: 'with touchpoints and attributes' },
      { operationId: 'getCustomer', status: 200, why: 'inferred stage', url: urlOf('getCustomer', 'c-buyer') },
      ...requestExamples('decide').map(([name, body]) => ({ operationId: 'decide', status: 200, why: `example ${name}`, body })),
      ...['c-42', 'c-gold', 'c-buyer', 'c-new'].map((customerId) => ({
        operationId: 'decide',
        status: 200,
        why: `every placement explained for ${customerId}`,
        body: { customerId, placements: ['home-hero', 'sidebar', 'email-banner'], context: { channel: 'web', promo: 'app' }, explain: true },
      })),
      { operationId: 'decideByQuery', status: 200, why: 'placements and context', url: urlOf('decideByQuery', 'c-gold', '?placement=home-hero&placement=sidebar&channel=web&device=mobile') },
      ...requestExamples('decideBatch').map(([name, body]) => ({ operationId: 'decideBatch', status: 200, why: `example ${name}`, body })),
      {
        operationId: 'decideBatch',
        status: 200,
        why: 'decisions and problems mixed',
        body: { requests: [{ customerId: 'c-gold', placements: ['email-banner'], explain: true }, { customerId: 'c-1', placements: ['nope'] }, { bad: true }, 42] },
      },
      ...requestExamples('decideStream').map(([name, body]) => ({ operationId: 'decideStream', status: 200, why: `example ${name}`, body })),
      {
        operationId: 'decideStream',
        status: 200,
        why: 'decisions and problems mixed',
        body: '{"customerId":"c-gold","placements":["email-banner"],"explain":true}\n\n{"customerId":"c-1","placements":["nope"]}\n{"bad":true}\n42\n{oops\n',
      },
      { operationId: 'getRulesStatus', status: 200, why: 'loaded' },
      { operationId: 'recordOutcomes', status: 202, why: 'a click on what a decision served', body: outcome },
      { operationId: 'recordOutcomes', status: 202, why: 'a batch with a duplicate', body: { outcomes: [outcome, { ...outcome, kind: 'impression' }] } },
      { operationId: 'getJourneyMap', status: 200, why: 'the map' },
      { operationId: 'getJourneyMap', status: 200, why: 'seven days', url: '/v1/reports/journey?days=7' },
      ...requestExamples('simulate').map(([name, body]) => ({ operationId: 'simulate', status: 200, why: `example ${name}`, body })),
      { operationId: 'simulate', status: 200, why: 'a new visitor now', body: { placements: ['home-hero', 'sidebar'] } },
      { operationId: 'placementReport', status: 200, why: 'the decisions above', url: '/v1/reports/placements/home-hero' },
      { operationId: 'placementReport', status: 200, why: 'as CSV', url: '/v1/reports/placements/home-hero?format=csv&from=2026-02-01' },
    ]);

    // Bad requests, each error status of each operation.
    await run(main, [
      ...BODY_OPERATIONS.flatMap((operationId): Exchange[] => [
        { operationId, status: 400, why: 'malformed JSON', body: '{"oops' },
        { operationId, status: 400, why: 'an empty body', body: '' },
        { operationId, status: 400, why: 'an invalid field', body: { nonsense: true } },
        { operationId, status: 413, why: 'too large', body: OVERSIZED },
      ]),
      { operationId: 'appendTouchpoints', status: 400, why: 'in the future', body: { type: 'page_view', channel: 'web', at: '2026-03-02T00:00:00Z' } },
      { operationId: 'appendTouchpoints', status: 400, why: 'a bad customer id', body: firstExample('appendTouchpoints'), url: urlOf('appendTouchpoints', 'a*b') },
      { operationId: 'patchCustomer', status: 400, why: 'an unknown stage', body: { stage: 'nirvana' } },
      { operationId: 'addAlias', status: 400, why: 'the id itself', body: { alias: 'c-42' } },
      { operationId: 'addAlias', status: 400, why: 'a bad alias', body: { alias: 'a*b' } },
      { operationId: 'addAlias', status: 409, why: "another customer's alias", body: firstExample('addAlias'), url: urlOf('addAlias', 'c-gold') },
      { operationId: 'decide', status: 400, why: 'an unknown placement', body: { customerId: 'c-42', placements: ['home-hero', 'nope'] } },
      { operationId: 'decideBatch', status: 400, why: 'no requests', body: { requests: [] } },
      { operationId: 'getCustomer', status: 400, why: 'a bad customer id', url: urlOf('getCustomer', 'x'.repeat(129)) },
      { operationId: 'deleteCustomer', status: 400, why: 'a bad customer id', url: urlOf('deleteCustomer', 'a*b') },
      { operationId: 'decideByQuery', status: 400, why: 'no placement', url: urlOf('decideByQuery', 'c-42', '?channel=web') },
      { operationId: 'decideByQuery', status: 400, why: 'an unknown placement', url: urlOf('decideByQuery', 'c-42', '?placement=nope') },
      { operationId: 'decideByQuery', status: 400, why: 'a bad customer id', url: urlOf('decideByQuery', 'a*b', '?placement=home-hero') },
      { operationId: 'recordOutcomes', status: 400, why: 'another customer', body: { ...outcome, customerId: 'c-43' } },
      { operationId: 'recordOutcomes', status: 400, why: 'a forged decision id', body: { ...outcome, decisionId: 'forged' } },
      { operationId: 'recordOutcomes', status: 400, why: 'malformed JSON', body: '{"oops' },
      { operationId: 'recordOutcomes', status: 413, why: 'too large', body: OVERSIZED },
      { operationId: 'recordOutcomes', status: 401, why: 'no key', key: null, body: outcome },
      { operationId: 'recordOutcomes', status: 403, why: 'a key without ingest', key: keyWithout('ingest'), body: outcome },
      { operationId: 'placementReport', status: 400, why: 'from after to', url: '/v1/reports/placements/home-hero?from=2026-03-02&to=2026-03-01' },
      { operationId: 'placementReport', status: 404, why: 'not in the rules', url: '/v1/reports/placements/nope' },
      { operationId: 'getCustomer', status: 404, why: 'never seen', url: urlOf('getCustomer', 'c-never') },
      { operationId: 'getJourneyMap', status: 400, why: 'days out of range', url: '/v1/reports/journey?days=0' },
      { operationId: 'simulate', status: 400, why: 'an unknown placement', body: { placements: ['nope'] } },
      ...ADMIN_OPERATIONS.flatMap((operationId): Exchange[] => [
        { operationId, status: 401, why: 'no key', key: null, body: firstExample(operationId) },
        { operationId, status: 403, why: 'a key without admin', key: keyWithout('admin'), body: firstExample(operationId) },
      ]),
      { operationId: 'deleteCustomer', status: 404, why: 'never seen', url: urlOf('deleteCustomer', 'c-never') },
      ...V1_OPERATIONS.flatMap((operationId): Exchange[] => [
        { operationId, status: 401, why: 'no key', key: null, body: firstExample(operationId) },
        { operationId, status: 401, why: 'an unknown key', key: 'not-a-key', body: firstExample(operationId) },
        { operationId, status: 403, why: `a key without ${scopeOf(operationId)}`, key: keyWithout(scopeOf(operationId)), body: firstExample(operationId) },
        { operationId, status: 401, why: 'an unknown X-API-Key', key: null, headers: { 'X-API-Key': 'not-a-key' }, body: firstExample(operationId) },
      ]),
      { operationId: 'deleteCustomer', status: 204, why: 'deleted' },
      { operationId: 'getCustomer', status: 404, why: 'deleted' },
    ]);

    // Not ready: no rules yet. A profile first, so reading it gets as far as the rules.
    await run(notReady, [
      { operationId: 'getReadiness', status: 503, why: 'no rules' },
      { operationId: 'appendTouchpoints', status: 202, why: 'needs no rules', body: firstExample('appendTouchpoints') },
      ...['patchCustomer', 'getCustomer', 'decide', 'decideByQuery', 'decideBatch', 'decideStream', 'placementReport'].map((operationId) => ({
        operationId,
        status: 503,
        why: 'no rules',
        body: firstExample(operationId),
      })),
      { operationId: 'getRulesStatus', status: 200, why: 'before the first load' },
      ...ADMIN_OPERATIONS.map((operationId) => ({ operationId, status: 503, why: 'no rules', body: firstExample(operationId) })),
    ]);

    await run(storeDown, [
      { operationId: 'getReadiness', status: 503, why: 'the store does not answer' },
      { operationId: 'recordOutcomes', status: 503, why: 'the store does not answer', body: downOutcome },
      ...V1_OPERATIONS.filter((id) => id !== 'getRulesStatus' && id !== 'placementReport').map((operationId) => ({
        operationId,
        // Decisions degrade (a new visitor's decision, `degraded: true`) rather than fail the page.
        status: ['decide', 'decideByQuery', 'decideBatch', 'decideStream'].includes(operationId) ? 200 : 503,
        why: 'the store does not answer',
        body: firstExample(operationId),
      })),
    ]);

    await run(broken, [...V1_OPERATIONS, 'getJourneyMap'].map((operationId) => ({ operationId, status: 500, why: 'an unexpected failure', body: firstExample(operationId) })));
    await run(broken, [{ operationId: 'recordOutcomes', status: 500, why: 'an unexpected failure', body: outcome }]);
  });

  afterAll(async () => {
    for (const t of apps) await t.close();
  });

  it('every answer is documented, with its content type, headers and schema', () => {
    expect(mismatches).toEqual([]);
    expect(seen.length).toBeGreaterThan(100);
  });

  it('every answer the document lists for an operation really happens', () => {
    const happened = new Set(seen.map((s) => `${s.operationId} ${s.status}`));
    const claimed = [...operations.entries()].flatMap(([id, { operation }]) => Object.keys(operation.responses as Doc).map((status) => `${id} ${status}`));
    // The simulator reads neither the store nor the rules status, so nothing from outside makes it fail; its 500 comes from the one error handler every route shares.
    const unprovokable = new Set(['simulate 500']);
    expect(claimed.filter((c) => !happened.has(c) && !unprovokable.has(c))).toEqual([]);
  });

  it('the explained decisions exercised every kind of trace', () => {
    const kinds = new Set<string>();
    for (const s of seen) {
      walk(s.body, (node) => {
        for (const key of ['all', 'any', 'not', 'condition', 'fact', 'stageTrace', 'fallbackTrace', 'trace']) if (key in node) kinds.add(key);
      });
    }
    // Without these the schema of a trace would be checked against nothing.
    expect([...kinds].sort()).toEqual(expect.arrayContaining(['all', 'condition', 'fact', 'fallbackTrace', 'stageTrace', 'trace']));
  });

  it('serves the document it builds', () => {
    const served = seen.find((s) => s.operationId === 'getOpenApiDocument');
    expect(served?.body).toEqual(JSON.parse(JSON.stringify(doc)));
  });
});

// ---- GET /docs ---------------------------------------------------------------------

describe('GET /docs', () => {
  let t: TestApp;
  beforeAll(async () => {
    // With API keys: the page and its assets stay open.
    t = await buildApp({ apiKeys: API_KEYS });
  });
  afterAll(() => t.close());

  const get = (url: string, headers: Record<string, string> = {}) => Promise.resolve(t.app.request(url, { headers }));

  it('is an HTML page that loads nothing from outside the service', async () => {
    const res = await get('/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    const html = await res.text();
    expect(html).not.toMatch(/(https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}/i);
    expect(html).not.toMatch(/<script>(?!<\/script>)/);
  });

  it('serves every asset the page names, with its content type and cache headers', async () => {
    const html = await (await get('/docs')).text();
    const names = [...html.matchAll(/(?:href|src)="([^"]+)"/g)].map((m) => m[1] ?? '').filter((u) => u.startsWith('docs/assets/'));
    expect(names.length).toBeGreaterThanOrEqual(6);
    const types: Record<string, RegExp> = { css: /^text\/css/, js: /^text\/javascript/, png: /^image\/png/ };
    for (const name of names) {
      const res = await get(`/${name}`);
      expect(res.status, name).toBe(200);
      const extension = name.split('.').pop() ?? '';
      expect(res.headers.get('content-type'), name).toMatch(types[extension] ?? /^$/);
      expect(res.headers.get('cache-control'), name).toMatch(/max-age=\d+/);
      const etag = res.headers.get('etag');
      expect(etag, name).toBeTruthy();
      expect((await res.arrayBuffer()).byteLength, name).toBeGreaterThan(0);
      const again = await get(`/${name}`, { 'If-None-Match': etag ?? '' });
      expect(again.status, name).toBe(304);
    }
    // The initializer points at this service's document, relative to the page.
    const initializer = await (await get('/docs/assets/docs.js')).text();
    expect(initializer).toContain("'openapi.json'");
    expect(initializer).toContain('validatorUrl: null');
  });

  it('serves the assets of swagger-ui-dist byte for byte', async () => {
    const { createRequire } = await import('node:module');
    const dir = (createRequire(import.meta.url)('swagger-ui-dist/absolute-path.js') as () => string)();
    for (const name of ['swagger-ui.css', 'swagger-ui-bundle.js', 'swagger-ui-standalone-preset.js', 'favicon-32x32.png']) {
      const body = Buffer.from(await (await get(`/docs/assets/${name}`)).arrayBuffer());
      expect(body.equals(readFileSync(`${dir}/${name}`)), name).toBe(true);
    }
  });

  it.each([
    '/docs/assets/index.html',
    '/docs/assets/swagger-ui-bundle.js.map',
    '/docs/assets/..%2F..%2Fpackage.json',
    '/docs/assets/%2E%2E%2Fabsolute-path.js',
    '/docs/assets/../../package.json',
    '/docs/assets/constructor',
    '/docs/assets/__proto__',
    '/docs/assets/',
  ])('refuses %s', async (url) => {
    const res = await get(url);
    // A path that normalises out of /docs/assets is another path, and needs a key like any other.
    expect([404, 401]).toContain(res.status);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  it('compresses the assets and the document for a client that accepts it, and only then', async () => {
    const { brotliDecompressSync, gunzipSync } = await import('node:zlib');
    for (const url of ['/docs/assets/swagger-ui-bundle.js', '/openapi.json']) {
      const plain = await get(url);
      expect(plain.headers.get('content-encoding'), url).toBeNull();
      expect(plain.headers.get('vary'), url).toBe('Accept-Encoding');
      const bytes = Buffer.from(await plain.arrayBuffer());
      for (const [accept, encoding, decode] of [
        ['gzip, deflate', 'gzip', gunzipSync],
        ['gzip, deflate, br', 'br', brotliDecompressSync],
        ['br;q=0, gzip', 'gzip', gunzipSync],
      ] as const) {
        const res = await get(url, { 'Accept-Encoding': accept });
        expect(res.headers.get('content-encoding'), `${url} ${accept}`).toBe(encoding);
        const encoded = Buffer.from(await res.arrayBuffer());
        expect(encoded.byteLength, `${url} ${accept}`).toBeLessThan(bytes.byteLength / 2);
        expect(decode(encoded).equals(bytes), `${url} ${accept}`).toBe(true);
      }
      const refused = await get(url, { 'Accept-Encoding': 'gzip;q=0, br;q=0' });
      expect(refused.headers.get('content-encoding'), url).toBeNull();
    }
  });

  it('sends /docs/ to the page, whose relative asset paths only work from /docs', async () => {
    const res = await get('/docs/');
    expect(res.status).toBe(301);
    expect(new URL(res.headers.get('location') ?? '', 'http://x/docs/').pathname).toBe('/docs');
  });
});

describe('GET /', () => {
  it('names the service and links to the reference, without a key', async () => {
    const t = await buildApp({ apiKeys: API_KEYS, metrics: true });
    try {
      const res = await t.app.request('/');
      expect(res.status).toBe(200);
      const body = (await res.json()) as { service: string; version: string; links: Record<string, string> };
      expect(body.service).toBe('nextbest');
      expect(body.version).toBe((JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version);
      expect(body.links).toMatchObject({ docs: 'docs', console: 'console', openapi: 'openapi.json' });
      for (const link of Object.values(body.links)) expect((await t.app.request(`/${link}`)).status, link).toBe(200);
    } finally {
      await t.close();
    }
  });
});
