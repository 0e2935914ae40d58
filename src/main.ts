/**
 * The composition root: configuration → stores → cache → rule registry and
 * watcher → app → serve. The only place that picks concrete adapters, with
 * composition.ts: the part `nextbest offers` shares (the profile store
 * backend, the decision id keys and names, the matcher). What keeps the
 * process running and stops it is in lifecycle.ts.
 */
import { pathToFileURL } from 'node:url';
import { ConfigError, loadConfig, redactUrl, type Config } from './config.js';
import { createApp } from './http/app.js';
import { exitOnShutdownSignal, limitHeapGrowth, reloadOnHangup, runReportsInBackground, serveHttp, sweepExpiredPeriodically } from './lifecycle.js';
import { createLogger, type Logger } from './observability/logger.js';
import { createMetrics, type PrometheusMetrics } from './observability/metrics.js';
import type { CachedProfileStore } from './profiles/cached-store.js';
import { createProfileStore, decisionKeyring, itemsCountingEveryone, matcherFor, shareDecisionNames, shareRuleNames, unknownKind } from './composition.js';
import { createRuleRegistry } from './reload/registry.js';
import { watchRulesDir } from './reload/watcher.js';
import { formatRuleError } from './ruleset/format.js';
import { createMemoryReportStore } from './reports/memory-report-store.js';
import { createRedisReportStore } from './reports/redis-report-store.js';
import { DEFAULT_REPORT_RETENTION_DAYS, type ReportStore } from './reports/report-store.js';
import { createReports } from './reports/reports.js';
import { createSqliteReportStore } from './reports/sqlite-report-store.js';
import { createDecisionSigner } from './outcomes/decision-id.js';
import type { DecisionNames } from './outcomes/decision-names.js';
import { createSharedOutcomeTotals } from './outcomes/shared-totals.js';
import type { RulesetSnapshot } from './ruleset/snapshot.js';

/** How long start-up waits for a network store's first answer before it serves anyway (degraded). */
const STORE_WAIT_MS = 5000;

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

/**
 * How many API keys there are and the scopes of each, for the start-up line:
 * never a key itself. (A field named `apiKeys` would be redacted by the logger.)
 */
function describeApiKeys(config: Config): { keys: number; scopes: string[] } | 'none' {
  if (!config.apiKeys) return 'none';
  return { keys: config.apiKeys.length, scopes: config.apiKeys.map((k) => [...k.scopes].sort().join('+')) };
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
