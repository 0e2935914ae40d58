/**
 * The composition root: configuration, store, rules, app, server. The only
 * place that picks concrete adapters and touches process signals.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { pathToFileURL } from 'node:url';
import { serve } from '@hono/node-server';
import { ConfigError, loadConfig, redactUrl, type Config, type Evaluator } from './config.js';
import { createApp } from './http/app.js';
import { createMetrics, type PrometheusMetrics } from './http/metrics.js';
import { createLogger, type Logger } from './logger.js';
import { createProfileStore } from './profiles/create-store.js';
import { createRuleRegistry } from './reload/registry.js';
import { watchRulesDir } from './reload/watcher.js';
import { createCompiledMatcher } from './conditions/compiled-matcher.js';
import { formatRuleError } from './ruleset/format.js';
import { createJreMatcher } from './conditions/jre-matcher.js';
import type { MatcherFactory } from './conditions/matcher.js';

const SWEEP_INTERVAL_MS = 60 * 60 * 1000;
const FIRST_SWEEP_DELAY_MS = 10 * 1000;
/** How long start-up waits for a network store's first answer before it serves anyway (degraded). */
const STORE_WAIT_MS = 5000;

export interface RunningService {
  url: string;
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
  const registry = createRuleRegistry({ dir: config.rulesDir, logger, createMatcher: matcherFor(config.evaluator), limits: config.ruleLimits });
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
  // `kill -HUP` reloads at once, for deployments that replace files without any event we could see.
  const onHangup = () => {
    logger.info('SIGHUP: reloading rules');
    void registry.reload();
  };
  process.on('SIGHUP', onHangup);
  // Reads already hide expired touchpoints; the sweep reclaims their space, at start and then hourly.
  const sweepExpired = () => {
    store.sweepExpired(Date.now()).catch((err: Error) => logger.warn('touchpoint sweep failed', { error: err.message }));
  };
  // The first sweep waits a little, so a network store has connected by then.
  const firstSweep = setTimeout(sweepExpired, FIRST_SWEEP_DELAY_MS);
  firstSweep.unref();
  const sweep = setInterval(sweepExpired, SWEEP_INTERVAL_MS);
  sweep.unref();

  await waitForStore(store, STORE_WAIT_MS, logger);
  if (!config.apiKeys) logger.warn('API_KEYS is not set: the HTTP API is open to anyone who can reach it, with no authentication');
  const app = createApp({
    rules: registry,
    store,
    logger,
    metrics,
    apiKeys: config.apiKeys,
    corsOrigins: config.corsOrigins,
    maxBodyBytes: config.maxBodyBytes,
  });
  const server = await new Promise<Server>((resolve) => {
    const s = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () => resolve(s as Server));
  });
  // A client that trickles its headers or body cannot hold a connection forever.
  server.headersTimeout = config.headersTimeoutMs;
  server.requestTimeout = config.requestTimeoutMs;
  server.keepAliveTimeout = config.keepAliveTimeoutMs;
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
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
  });

  let stopping: Promise<void> | null = null;
  return {
    url,
    stop() {
      stopping ??= (async () => {
        watcher.close();
        process.off('SIGHUP', onHangup);
        clearTimeout(firstSweep);
        clearInterval(sweep);
        await closeServer(server, config.shutdownTimeoutMs, logger);
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

export function matcherFor(evaluator: Evaluator): MatcherFactory {
  return evaluator === 'json-rules-engine' ? createJreMatcher : createCompiledMatcher;
}

function openStore(config: Config, metrics: PrometheusMetrics, logger: Logger) {
  try {
    return createProfileStore({
      store: config.store,
      sqlitePath: config.sqlitePath,
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
      cacheMax: config.profileCacheMax,
      wrapBackend: metrics.instrumentStore,
      storeTimeoutMs: config.storeTimeoutMs,
    });
  } catch (err) {
    const where = config.store === 'sqlite' ? ` at SQLITE_PATH=${config.sqlitePath}` : '';
    throw new StartupError(`cannot open the ${config.store} profile store${where}: ${(err as Error).message}`);
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
      lastError = (err as Error).message;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  logger.warn('the profile store does not answer; serving degraded until it does', { error: lastError, waitedMs: timeoutMs });
}

/** Stops accepting connections and waits for in-flight requests, up to a deadline. */
function closeServer(server: Server, timeoutMs: number, logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    const deadline = setTimeout(() => {
      logger.warn('shutdown deadline reached; closing the remaining connections', { timeoutMs });
      server.closeAllConnections();
    }, timeoutMs);
    deadline.unref();
    server.close(() => {
      clearTimeout(deadline);
      resolve();
    });
    // Idle keep-alive connections would otherwise hold the server open until they time out.
    server.closeIdleConnections();
  });
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
  const shutdown = (signal: string) => {
    logger.info('shutting down', { signal });
    service.stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (err: Error) => {
        logger.error('shutdown failed', { error: err.message });
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runServer();
}
