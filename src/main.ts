/**
 * The composition root: configuration → stores → cache → rule registry and
 * watcher → app → serve. The only place that picks concrete adapters; what
 * keeps the process running and stops it is in lifecycle.ts.
 */
import { pathToFileURL } from 'node:url';
import { ConfigError, loadConfig, redactUrl, type Config, type Evaluator } from './config.js';
import { createApp } from './http/app.js';
import { exitOnShutdownSignal, limitHeapGrowth, reloadOnHangup, runReportsInBackground, serveHttp, sweepExpiredPeriodically } from './lifecycle.js';
import { createLogger, type Logger } from './observability/logger.js';
import { createMetrics, type PrometheusMetrics } from './observability/metrics.js';
import type { CachedProfileStore } from './profiles/cached-store.js';
import type { CircuitBreakerOptions } from './profiles/circuit-breaker-store.js';
import { decorateProfileStore } from './profiles/decorate-store.js';
import { createMemoryStore } from './profiles/memory-store.js';
import { createRedisStore, type RedisStoreEvent } from './profiles/redis-store.js';
import { createSqliteStore } from './profiles/sqlite-store.js';
import type { ProfileStore, StoreLimits } from './profiles/store.js';
import { createRuleRegistry } from './reload/registry.js';
import { watchRulesDir } from './reload/watcher.js';
import { createCompiledMatcher } from './conditions/compiled-matcher.js';
import { formatRuleError } from './ruleset/format.js';
import { createJreMatcher } from './conditions/jre-matcher.js';
import type { MatcherFactory } from './conditions/matcher.js';
import { createMemoryReportStore } from './reports/memory-report-store.js';
import { createRedisReportStore } from './reports/redis-report-store.js';
import { DEFAULT_REPORT_RETENTION_DAYS, type ReportStore } from './reports/report-store.js';
import { createReports } from './reports/reports.js';
import { createSqliteReportStore } from './reports/sqlite-report-store.js';
import {
  createDecisionSigner,
  createKeyring,
  decodeSharedKey,
  encodeSharedKey,
  generateDecisionKey,
  type DecisionKeyring,
} from './outcomes/decision-id.js';
import { createDecisionNames, decisionNamesOf, type DecisionNames, type DecisionNameStore } from './outcomes/decision-names.js';
import { createSharedOutcomeTotals } from './outcomes/shared-totals.js';
import type { RulesetSnapshot } from './ruleset/snapshot.js';

/** How long start-up waits for a network store's first answer before it serves anyway (degraded). */
const STORE_WAIT_MS = 5000;
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export interface RunningService {
  url: string;
  /** Stops accepting connections, once those already queued are taken (lifecycle.ts); `stop` does it too. */
  stopListening(): Promise<void>;
  /** Stops accepting, finishes in-flight requests, closes the store. */
  stop(): Promise<void>;
}

export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

export async function startService(config: Config, logger: Logger): Promise<RunningService> {
  limitHeapGrowth(config.heapGrowingPercent);
  // Known once the store is open (below); the first rules' names are shared then, each later rule set's as it is swapped in.
  let names: DecisionNames | null = null;
  const registry = createRuleRegistry({
    dir: config.rulesDir,
    logger,
    createMatcher: matcherFor(config.evaluator),
    limits: config.ruleLimits,
    onSwap: (snapshot) => {
      if (names) void shareRuleNames(names, snapshot, logger);
    },
  });
  const first = await registry.reload();
  if (!first.ok) {
    throw new StartupError(`the rules in ${config.rulesDir} are invalid:\n${first.errors.map((e) => `  ${formatRuleError(e)}`).join('\n')}`);
  }
  const metrics = createMetrics();
  const store = openStore(config, metrics, logger);
  const watcher = watchRulesDir({
    dir: config.rulesDir,
    logger,
    onChange: () => void registry.reloadIfChanged(),
    pollMs: config.rulesPollIntervalMs,
  });
  const stopHangup = reloadOnHangup(() => void registry.reload(), logger);
  const stopSweeps = sweepExpiredPeriodically(store, logger);
  let flushFailing = false;
  const reports = createReports({
    store: openReportStore(config),
    rules: () => registry.current,
    onFlushError: (err) => {
      // Once per outage: the counts are kept and sent with the next flush.
      if (!flushFailing) logger.warn('served counts could not be sent to the report store; kept for the next flush', { error: (err as Error).message });
      flushFailing = true;
    },
  });
  const stopReports = runReportsInBackground(reports, logger);

  await waitForStore(store, STORE_WAIT_MS, logger);
  const keyring = await decisionKeyring(config, store, logger);
  names = await shareDecisionNames(store, registry.current, logger);
  const outcomeTotals = createSharedOutcomeTotals({
    store,
    items: () => itemsCountingEveryone(registry.current),
    onError: (err) => logger.warn('outcome totals refresh failed; caps with scope "all" use the last counts', { error: err.message }),
  });
  const stopTotals = outcomeTotals.start();
  if (!config.apiKeys) logger.warn('API_KEYS is not set: the HTTP API is open to anyone who can reach it, with no authentication');
  const app = createApp({
    rules: registry,
    store,
    logger,
    metrics,
    apiKeys: config.apiKeys,
    corsOrigins: config.corsOrigins,
    maxBodyBytes: config.maxBodyBytes,
    reports,
    signer: createDecisionSigner(keyring.keyring, { names }),
    outcomeTotals,
    journeyMaxAgeMs: config.journeyMaxAgeMs,
  });
  const server = await serveHttp(app.fetch, {
    port: config.port,
    host: config.host,
    headersTimeoutMs: config.headersTimeoutMs,
    requestTimeoutMs: config.requestTimeoutMs,
    keepAliveTimeoutMs: config.keepAliveTimeoutMs,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    logger,
  });
  const { url } = server;
  logger.info('nextbest listening', {
    url,
    store: config.store,
    ...(config.store === 'sqlite' ? { sqlitePath: config.sqlitePath } : {}),
    ...(config.store === 'redis'
      ? { redisUrl: redactUrl(config.redisUrl), redisCluster: config.redisCluster, redisKeyPrefix: config.redisKeyPrefix }
      : {}),
    rulesDir: config.rulesDir,
    rulesVersion: registry.current?.version,
    evaluator: config.evaluator,
    profileCacheMax: config.profileCacheMax,
    touchpointRetentionDays: config.touchpointRetentionDays,
    maxTouchpointsPerProfile: config.maxTouchpointsPerProfile,
    storeTimeoutMs: config.storeTimeoutMs,
    logLevel: config.logLevel,
    auth: describeApiKeys(config),
    // How decision ids are signed; never the keys themselves.
    decisionIdKeys: config.decisionIdKeys ? `${config.decisionIdKeys.length} configured (DECISION_ID_KEYS)` : 'shared through the store',
  });

  let stopping: Promise<void> | null = null;
  return {
    url,
    stopListening: () => server.stopListening(),
    stop() {
      stopping ??= (async () => {
        watcher.close();
        stopHangup();
        stopSweeps();
        stopTotals();
        keyring.stop();
        names?.stop();
        await server.drain();
        // The last served counts go to the store before it closes.
        await stopReports();
        await reports.store.close();
        await store.close();
      })();
      return stopping;
    },
  };
}

/** The ids of catalog items with a cap counting everyone's outcomes: what the shared totals read. */
export function itemsCountingEveryone(snapshot: RulesetSnapshot | null): string[] {
  if (!snapshot) return [];
  const items: string[] = [];
  for (const item of snapshot.catalog.values()) if (item.caps?.some((cap) => cap.scope === 'all')) items.push(item.id);
  return items;
}

const SHARED_KEY_NAME = 'decision-id-key';
const SHARED_KEY_RETRY_MS = 5000;

/**
 * The keys decision ids are signed with: DECISION_ID_KEYS when set; else one
 * generated once and shared through the store, so every replica verifies
 * every other's ids and a restart keeps them valid. While the store cannot be
 * asked (down at start), a key of this process signs, and the shared key is
 * asked for again in the background: once it is known it signs, and the
 * process key still verifies (on this replica) what it signed.
 */
export async function decisionKeyring(
  config: Config,
  store: { sharedSecret(name: string, candidate: string): Promise<string> },
  logger: Logger,
): Promise<{ keyring: DecisionKeyring; stop(): void }> {
  if (config.decisionIdKeys) return { keyring: createKeyring(config.decisionIdKeys), stop: () => undefined };
  const local = generateDecisionKey();
  const keyring = createKeyring([local]);
  let timer: NodeJS.Timeout | undefined;
  const fetchShared = async (): Promise<boolean> => {
    try {
      const stored = decodeSharedKey(await store.sharedSecret(SHARED_KEY_NAME, encodeSharedKey(local)));
      if (!stored) {
        logger.error('the decision id key stored in the profile store is not one; set DECISION_ID_KEYS');
        return true;
      }
      keyring.adopt(stored);
      return true;
    } catch (err) {
      return false;
    }
  };
  if (!(await fetchShared())) {
    logger.warn('cannot read the shared decision id key; signing with a key of this process until the store answers (other replicas will refuse outcomes for these decisions)');
    const retry = () => {
      void fetchShared().then((done) => {
        if (done) logger.info('decision id key shared through the store is in use');
        else timer = setTimeout(retry, SHARED_KEY_RETRY_MS).unref();
      });
    };
    timer = setTimeout(retry, SHARED_KEY_RETRY_MS).unref();
  }
  return { keyring, stop: () => clearTimeout(timer) };
}

/** Store failures of the decision name list are said at most this often: while the store is down they recur. */
const NAMES_WARNING_MS = 60_000;

/**
 * The decision name list this process signs and verifies with
 * (outcomes/decision-names.ts), shared through the store so that every
 * replica and every restart reads a number as the same name. The names of
 * the rules loaded are numbered before the first decision, so ids carry
 * numbers from the start. When the store cannot be asked (down at start),
 * ids carry the names in full, which every replica verifies, and the names
 * are sent again in the background until it answers.
 */
export async function shareDecisionNames(store: DecisionNameStore, snapshot: RulesetSnapshot | null, logger: Logger): Promise<DecisionNames> {
  let warnedAt = -Infinity;
  const names = createDecisionNames({
    store,
    onError: (err) => {
      if (performance.now() - warnedAt < NAMES_WARNING_MS) return;
      warnedAt = performance.now();
      logger.warn('the decision name list could not be read or added to; decision ids carry the names in full meanwhile', { error: err.message });
    },
  });
  if (snapshot) await shareRuleNames(names, snapshot, logger);
  return names;
}

/** Numbers every name of a rule set (placement names, item ids, rule names); never rejects: what failed is sent again later. */
export async function shareRuleNames(names: DecisionNames, snapshot: RulesetSnapshot, logger: Logger): Promise<void> {
  try {
    await names.share(decisionNamesOf(snapshot));
  } catch (err) {
    logger.warn('cannot number the names of the rules in the shared decision name list yet; decision ids carry them in full until the store answers', {
      error: (err as Error).message,
    });
  }
}

/**
 * How many API keys there are and the scopes of each, for the start-up line:
 * never a key itself. (A field named `apiKeys` would be redacted by the logger.)
 */
function describeApiKeys(config: Config): { keys: number; scopes: string[] } | 'none' {
  if (!config.apiKeys) return 'none';
  return { keys: config.apiKeys.length, scopes: config.apiKeys.map((k) => [...k.scopes].sort().join('+')) };
}

export function matcherFor(evaluator: Evaluator): MatcherFactory {
  return evaluator === 'json-rules-engine' ? createJreMatcher : createCompiledMatcher;
}

export type StoreKind = 'memory' | 'sqlite' | 'redis';

export interface ProfileStoreConfig {
  store: StoreKind;
  sqlitePath: string;
  /** For `sqlite`: groups of customers read for decisions on a reader thread (sqlite-reader.ts); default false. */
  sqliteReaderThread?: boolean;
  /** For `sqlite`: group reads of fewer customers stay on the store's thread; default READER_MIN_CUSTOMERS (tests lower it). */
  sqliteReaderMinCustomers?: number;
  /** For `sqlite`: the reader thread failed (its reads were made on the store's thread instead). */
  onSqliteReaderFailure?: (error: Error) => void;
  /** For `redis`: the server's URL, or with `redisCluster` the seed nodes, comma-separated. */
  redisUrl?: string;
  redisCluster?: boolean;
  redisKeyPrefix?: string;
  /** For `redis`: connection news for the log. */
  onRedisEvent?: (event: RedisStoreEvent) => void;
  retentionDays: number;
  maxTouchpointsPerProfile: number;
  /** Most aliases of one customer; default 100. */
  maxAliasesPerCustomer?: number;
  /** LRU entries; 0 disables the cache. */
  cacheMax: number;
  /** The clock for retention on reads; tests inject one. */
  now?: () => number;
  /** Wraps the backend behind the cache, e.g. to time its calls (metrics); cache hits never reach it. */
  wrapBackend?: (backend: ProfileStore) => ProfileStore;
  /** How long a backend call may take before it fails with StoreUnavailableError; default 1000. */
  storeTimeoutMs?: number;
  /** Skips a failing backend for a moment (circuit-breaker-store.ts); false turns it off. */
  circuitBreaker?: CircuitBreakerOptions | false;
}

/** The configured backend, picked here, behind the profile decorators (profiles/decorate-store.ts). */
export function createProfileStore(config: ProfileStoreConfig): CachedProfileStore {
  const limits: StoreLimits = {
    retentionDays: config.retentionDays,
    maxTouchpointsPerProfile: config.maxTouchpointsPerProfile,
    ...(config.maxAliasesPerCustomer !== undefined ? { maxAliasesPerCustomer: config.maxAliasesPerCustomer } : {}),
    ...(config.now ? { now: config.now } : {}),
  };
  const decorations = {
    cacheMax: config.cacheMax,
    retentionDays: config.retentionDays,
    ...(config.now ? { now: config.now } : {}),
    ...(config.wrapBackend ? { wrapBackend: config.wrapBackend } : {}),
    ...(config.storeTimeoutMs !== undefined ? { storeTimeoutMs: config.storeTimeoutMs } : {}),
    ...(config.circuitBreaker !== undefined ? { circuitBreaker: config.circuitBreaker } : {}),
  };
  switch (config.store) {
    case 'memory':
      return decorateProfileStore(createMemoryStore(limits), decorations);
    case 'sqlite':
      return decorateProfileStore(
        createSqliteStore({
          ...limits,
          path: config.sqlitePath,
          readerThread: config.sqliteReaderThread ?? false,
          ...(config.sqliteReaderMinCustomers !== undefined ? { readerMinCustomers: config.sqliteReaderMinCustomers } : {}),
          ...(config.onSqliteReaderFailure ? { onReaderFailure: config.onSqliteReaderFailure } : {}),
        }),
        decorations,
      );
    case 'redis': {
      const backend = createRedisStore({
        ...limits,
        url: config.redisUrl ?? DEFAULT_REDIS_URL,
        ...(config.redisCluster ? { cluster: true } : {}),
        ...(config.redisKeyPrefix !== undefined ? { keyPrefix: config.redisKeyPrefix } : {}),
        ...(config.onRedisEvent ? { onEvent: config.onRedisEvent } : {}),
      });
      // Redis is shared: every replica publishes what it changes, and the others drop their copies.
      return decorateProfileStore(backend, { ...decorations, changes: backend });
    }
    default:
      return unknownKind(config.store);
  }
}

function unknownKind(kind: never): never {
  throw new Error(`unknown profile store "${String(kind)}"`);
}

function openStore(config: Config, metrics: PrometheusMetrics, logger: Logger): CachedProfileStore {
  try {
    return createProfileStore({
      store: config.store,
      sqlitePath: config.sqlitePath,
      sqliteReaderThread: config.sqliteReaderThread,
      onSqliteReaderFailure: (error) => logger.error('the SQLite reader thread failed; its reads were made on the main thread, and the next group read starts a new one', { err: error }),
      redisUrl: config.redisUrl,
      redisCluster: config.redisCluster,
      redisKeyPrefix: config.redisKeyPrefix,
      onRedisEvent: (event) => {
        if (event.kind === 'connected') logger.info('redis connected', { redisUrl: redactUrl(config.redisUrl) });
        else if (event.kind === 'disconnected') logger.warn('redis connection lost; reconnecting', { redisUrl: redactUrl(config.redisUrl) });
        else logger.warn(event.message);
      },
      retentionDays: config.touchpointRetentionDays,
      maxTouchpointsPerProfile: config.maxTouchpointsPerProfile,
      maxAliasesPerCustomer: config.maxAliasesPerCustomer,
      cacheMax: config.profileCacheMax,
      wrapBackend: metrics.instrumentStore,
      storeTimeoutMs: config.storeTimeoutMs,
    });
  } catch (err) {
    const where = config.store === 'sqlite' ? ` at SQLITE_PATH=${config.sqlitePath}` : '';
    throw new StartupError(`cannot open the ${config.store} profile store${where}: ${(err as Error).message}`);
  }
}

/** The report store beside the profile store: the same backend, file or Redis (reports/). */
export function openReportStore(config: Pick<Config, 'store' | 'sqlitePath' | 'redisUrl' | 'redisCluster' | 'redisKeyPrefix'>): ReportStore {
  const retentionDays = DEFAULT_REPORT_RETENTION_DAYS;
  try {
    switch (config.store) {
      case 'memory':
        return createMemoryReportStore({ retentionDays });
      case 'sqlite':
        return createSqliteReportStore({ retentionDays, path: config.sqlitePath });
      case 'redis':
        return createRedisReportStore({
          retentionDays,
          url: config.redisUrl,
          ...(config.redisCluster ? { cluster: true } : {}),
          ...(config.redisKeyPrefix !== undefined ? { keyPrefix: config.redisKeyPrefix } : {}),
        });
      default:
        return unknownKind(config.store);
    }
  } catch (err) {
    throw new StartupError(`cannot open the ${config.store} report store: ${(err as Error).message}`);
  }
}

/**
 * Waits until the store answers a ping, so the first requests are not decided
 * blind while a network store is still connecting. A store that stays silent
 * does not stop start-up: the service serves degraded (readyz says so) and
 * recovers when the store comes.
 */
async function waitForStore(store: { ping(): Promise<void> }, timeoutMs: number, logger: Logger): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let lastError = '';
  while (performance.now() < deadline) {
    try {
      await store.ping();
      return;
    } catch (err) {
      // Said once, at the first failure, so an operator watching start-up knows what the pause is.
      if (lastError === '') logger.warn(`the profile store does not answer yet; waiting up to ${timeoutMs / 1000} s before serving`, { error: (err as Error).message });
      lastError = (err as Error).message || 'failed';
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  logger.warn('the profile store does not answer; serving degraded until it does', { error: lastError, waitedMs: timeoutMs });
}

/** `npm start` and `nextbest serve`: serve until SIGTERM or SIGINT, then shut down and exit 0. */
export async function runServer(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  let logger: Logger;
  let service: RunningService;
  try {
    const config = loadConfig(env);
    logger = createLogger({ level: config.logLevel });
    service = await startService(config, logger);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof StartupError) {
      process.stderr.write(`nextbest: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  exitOnShutdownSignal(service, logger);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runServer();
}
