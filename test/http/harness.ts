/**
 * Shared set-up for the in-process HTTP tests: a rules registry over the
 * fixture folder (test/fixtures/http-rules, not the marketers' rules/), a
 * profile store of either kind behind the profile cache, and the app, all on
 * one fixed clock. Requests go through `app.request()`; no port is opened.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Hono } from 'hono';
import { createApp } from '../../src/http/app.js';
import type { RulesPort } from '../../src/http/deps.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createProfileStore, shareDecisionNames } from '../../src/composition.js';
import { createDecisionSigner, createKeyring, generateDecisionKey, type DecisionKey } from '../../src/outcomes/decision-id.js';
import { createDecisionNames, type DecisionNames } from '../../src/outcomes/decision-names.js';
import type { ProfileStore } from '../../src/profiles/store.js';
import { createRuleRegistry, type RuleRegistry } from '../../src/reload/registry.js';
import { deleteKeys, REDIS_URL, waitReady } from '../contract/redis-helpers.js';

export const FIXTURE_RULES_DIR = fileURLToPath(new URL('../fixtures/http-rules/', import.meta.url));

export const STORE_KINDS = ['memory', 'sqlite', 'redis'] as const;
export type StoreKind = (typeof STORE_KINDS)[number];

/** 2026-03-01T12:00:00Z: after the fixture's expired item, so it is inactive. */
export const T0 = Date.parse('2026-03-01T12:00:00.000Z');
export const MINUTE_MS = 60 * 1000;
export const DAY_MS = 24 * 60 * MINUTE_MS;

export interface Clock {
  now(): number;
  set(ms: number): void;
  advance(ms: number): void;
}

/** A clock that only moves when told to. */
export function fixedClock(start = T0): Clock {
  let current = start;
  return {
    now: () => current,
    set(ms) {
      current = ms;
    },
    advance(ms) {
      current += ms;
    },
  };
}

/** The ISO string of a time relative to the clock, e.g. `iso(clock, -2 * DAY_MS)`. */
export function iso(clock: Clock, offsetMs = 0): string {
  return new Date(clock.now() + offsetMs).toISOString();
}

export interface HarnessOptions {
  store?: StoreKind;
  /** A rules folder; default: the fixture folder (read in place, never written). */
  rulesDir?: string;
  clock?: Clock;
  retentionDays?: number;
  maxTouchpointsPerProfile?: number;
  maxAliasesPerCustomer?: number;
  cacheMax?: number;
  /** Replaces the store the app sees, e.g. to make `ping` fail; the real store is still closed at the end. */
  wrapStore?: (store: ProfileStore) => ProfileStore;
  /** Replaces the backend behind the profile decorators (cache, breaker, timeout), e.g. to make `ping` hang. */
  wrapBackend?: (backend: ProfileStore) => ProfileStore;
  /** Replaces the rules port the app sees, e.g. one whose `current` is null. */
  wrapRules?: (registry: RuleRegistry) => RulesPort;
  maxBodyBytes?: number;
  /** For a sqlite harness: group reads on the reader thread (SQLITE_READER_THREAD=true), every one of them (no minimum); a reader failure fails the test. */
  sqliteReaderThread?: boolean;
  /**
   * Another replica of that harness's service: the same data (its SQLite
   * file or Redis keys; not for memory), the same decision id key, but a
   * store, cache and decision name list of its own.
   */
  replicaOf?: Harness;
  /**
   * Whether the rules' names are numbered in the shared decision name list
   * before the first request, as the service does at start (default true).
   * False: the list held here starts empty, as on a replica that has not read it.
   */
  shareRuleNames?: boolean;
}

export interface Harness {
  app: Hono;
  registry: RuleRegistry;
  store: ProfileStore;
  clock: Clock;
  /** The SQLite file of a sqlite harness; null for the others. */
  sqlitePath: string | null;
  /** The Redis key prefix of a redis harness; null for the others. */
  redisKeyPrefix: string | null;
  /** The key decision ids are signed with. */
  decisionKey: DecisionKey;
  /** The decision name list this app signs and verifies with. */
  names: DecisionNames;
  /** Sends a request; a non-string body is sent as JSON. */
  request(method: string, url: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
}

const tempDirs = new Set<string>();

/** A fresh folder under the OS temp dir, removed by `removeTempDirs`. */
export function makeTempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nextbest-'));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

/** A copy of the fixture rules folder that a test may break and repair. */
export function copyFixtureRules(): string {
  const dir = path.join(makeTempDir(), 'rules');
  fs.cpSync(FIXTURE_RULES_DIR, dir, { recursive: true });
  return dir;
}

export async function createHarness(options: HarnessOptions = {}): Promise<Harness> {
  const clock = options.clock ?? fixedClock();
  const registry = createRuleRegistry({ dir: options.rulesDir ?? FIXTURE_RULES_DIR, logger: silentLogger, now: clock.now });
  const outcome = await registry.reload();
  if (!outcome.ok) throw new Error(`fixture rules are invalid: ${JSON.stringify(outcome.errors)}`);
  const replicaOf = options.replicaOf;
  const kind = options.store ?? (replicaOf ? (replicaOf.store.kind as StoreKind) : 'memory');
  if (replicaOf && kind === 'memory') throw new Error('a memory store cannot be shared with a replica');
  const sqlitePath = kind === 'sqlite' ? (replicaOf?.sqlitePath ?? path.join(makeTempDir(), 'profiles.db')) : null;
  // Each redis harness has keys of its own on the test Redis, removed by close() (a replica's by the harness it replicates).
  const redisKeyPrefix = kind === 'redis' ? (replicaOf?.redisKeyPrefix ?? `nbtest:${randomUUID()}:`) : undefined;
  const realStore = createProfileStore({
    store: kind,
    sqlitePath: sqlitePath ?? '',
    ...(options.sqliteReaderThread
      ? {
          sqliteReaderThread: true,
          sqliteReaderMinCustomers: 1,
          onSqliteReaderFailure: (error: Error) => {
            throw error;
          },
        }
      : {}),
    redisUrl: REDIS_URL,
    ...(redisKeyPrefix ? { redisKeyPrefix } : {}),
    retentionDays: options.retentionDays ?? 365,
    maxTouchpointsPerProfile: options.maxTouchpointsPerProfile ?? 1000,
    ...(options.maxAliasesPerCustomer !== undefined ? { maxAliasesPerCustomer: options.maxAliasesPerCustomer } : {}),
    cacheMax: options.cacheMax ?? 100,
    now: clock.now,
    ...(options.wrapBackend ? { wrapBackend: options.wrapBackend } : {}),
  });
  if (kind === 'redis') await waitReady(realStore);
  const store = options.wrapStore ? options.wrapStore(realStore) : realStore;
  const rules = options.wrapRules ? options.wrapRules(registry) : registry;
  const decisionKey = replicaOf?.decisionKey ?? generateDecisionKey();
  const names =
    options.shareRuleNames === false ? createDecisionNames({ store }) : await shareDecisionNames(store, registry.current, silentLogger);
  let ids = 0;
  const app = createApp({
    rules,
    store,
    logger: silentLogger,
    now: clock.now,
    newId: () => `decision-${++ids}`,
    signer: createDecisionSigner(createKeyring([decisionKey]), { names }),
    ...(options.maxBodyBytes !== undefined ? { maxBodyBytes: options.maxBodyBytes } : {}),
  });
  let closed = false;
  return {
    app,
    registry,
    store,
    clock,
    sqlitePath,
    redisKeyPrefix: redisKeyPrefix ?? null,
    decisionKey,
    names,
    request(method, url, body, headers = {}) {
      const init: RequestInit = { method, headers: { ...headers } };
      if (body !== undefined) {
        init.body = typeof body === 'string' ? body : JSON.stringify(body);
        (init.headers as Record<string, string>)['Content-Type'] ??= 'application/json';
      }
      return Promise.resolve(app.request(url, init));
    },
    async close() {
      if (closed) return;
      closed = true;
      names.stop();
      await realStore.close();
      if (redisKeyPrefix && !replicaOf) await deleteKeys(redisKeyPrefix);
    },
  };
}

/** The response body as parsed JSON (tests read it loosely). */
export async function json(res: Response): Promise<any> {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`expected a JSON body, got status ${res.status}: ${text.slice(0, 200)}`);
  }
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: Array<{ path: string; message: string }>;
  [extension: string]: unknown;
}

/**
 * Asserts an RFC 9457 answer with the given status and returns its body.
 * Throws with the body in the message so a failing test shows what came back.
 */
export async function expectProblem(res: Response, status: number): Promise<ProblemBody> {
  const text = await res.text();
  const where = `(got ${res.status} ${res.headers.get('content-type') ?? ''}: ${text.slice(0, 300)})`;
  if (res.status !== status) throw new Error(`expected status ${status} ${where}`);
  if (!(res.headers.get('content-type') ?? '').startsWith('application/problem+json')) {
    throw new Error(`expected Content-Type application/problem+json ${where}`);
  }
  const body = JSON.parse(text) as ProblemBody;
  for (const field of ['type', 'title', 'detail'] as const) {
    if (typeof body[field] !== 'string' || body[field] === '') throw new Error(`problem lacks "${field}" ${where}`);
  }
  if (body.status !== status) throw new Error(`problem.status is ${String(body.status)}, not ${status} ${where}`);
  return body;
}

/** Asserts a 400 validation problem and returns the paths of its errors. */
export async function expectValidationErrors(res: Response): Promise<string[]> {
  const body = await expectProblem(res, 400);
  if (!Array.isArray(body.errors) || body.errors.length === 0) {
    throw new Error(`expected errors: [{path, message}] in ${JSON.stringify(body)}`);
  }
  for (const e of body.errors) {
    if (typeof e.path !== 'string' || typeof e.message !== 'string' || e.message === '') {
      throw new Error(`malformed error entry ${JSON.stringify(e)}`);
    }
  }
  return body.errors.map((e) => e.path);
}

/** A touchpoint body with defaults. */
export function touchpoint(fields: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'page_view', channel: 'web', ...fields };
}

/** Whether anything leaked onto Object.prototype. */
export function prototypeIsClean(): boolean {
  const probe: Record<string, unknown> = {};
  return probe.polluted === undefined && probe.isAdmin === undefined && Object.keys(Object.prototype).length === 0;
}

/** The store with `ping` replaced, everything else passed through (readiness tests). */
export function withPing(store: ProfileStore, ping: () => Promise<void>): ProfileStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      return property === 'ping' ? ping : (Reflect.get(target, property, receiver) as unknown);
    },
  });
}

/** A decision request body for POST /v1/decisions. */
export function decisionRequest(customerId: string, placements: string[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { customerId, placements, ...extra };
}
