/**
 * What the composition root (main.ts) shares with the decision workers of
 * `nextbest offers` (cli/offers-local.ts), which decide as `serve` does
 * without its HTTP app, metrics or lifecycle: the store backend a
 * configuration picks, behind the profile decorators; the decision id keys
 * and the decision name list shared through the store; the matcher of the
 * configured evaluator. Kept out of main.ts so that a worker loads what it
 * uses and no more (docs/performance.md, 2026-12-06, session 11).
 */
import type { Config, Evaluator } from './config.js';
import { createCompiledMatcher } from './conditions/compiled-matcher.js';
import { createJreMatcher } from './conditions/jre-matcher.js';
import type { MatcherFactory } from './conditions/matcher.js';
import type { Logger } from './observability/logger.js';
import { createKeyring, decodeSharedKey, encodeSharedKey, generateDecisionKey, type DecisionKeyring } from './outcomes/decision-id.js';
import { createDecisionNames, decisionNamesOf, type DecisionNames, type DecisionNameStore } from './outcomes/decision-names.js';
import type { CachedProfileStore } from './profiles/cached-store.js';
import type { CircuitBreakerOptions } from './profiles/circuit-breaker-store.js';
import { decorateProfileStore } from './profiles/decorate-store.js';
import { createMemoryStore } from './profiles/memory-store.js';
import { createRedisStore, type RedisStoreEvent } from './profiles/redis-store.js';
import { createSqliteStore } from './profiles/sqlite-store.js';
import type { ProfileStore, StoreLimits } from './profiles/store.js';
import type { RulesetSnapshot } from './ruleset/snapshot.js';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

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

export function unknownKind(kind: never): never {
  throw new Error(`unknown profile store "${String(kind)}"`);
}
