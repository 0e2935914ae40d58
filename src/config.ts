/**
 * The service's configuration, read from the environment once (contract
 * section 2). An invalid value stops start-up with a message naming the variable.
 */
import { parseDecisionKeys, type DecisionKey } from './outcomes/decision-id.js';
import * as z from 'zod';
import { DEFAULT_RULE_LIMITS, type RuleLimits } from './ruleset/limits.js';

const int = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^-?\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

const positiveNumber = z
  .string()
  .trim()
  .regex(/^\d+(\.\d+)?$/, 'must be a positive number')
  .transform(Number)
  .pipe(z.number().positive('must be a positive number'));

/** The rule folder's limits, also read on their own by the validate and test commands (loadRuleLimits). */
const ruleLimitVariables = {
  RULES_MAX_FILE_BYTES: int(1024, 1024 * 1024 * 1024).default(DEFAULT_RULE_LIMITS.maxFileBytes),
  RULES_MAX_RULES_PER_PLACEMENT: int(1, 1_000_000).default(DEFAULT_RULE_LIMITS.maxRulesPerPlacement),
};

const envSchema = z.object({
  ...ruleLimitVariables,
  PORT: int(0, 65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  RULES_DIR: z.string().min(1).default('./rules'),
  STORE: z.enum(['sqlite', 'memory', 'redis'], { error: 'must be one of sqlite, memory, redis' }).default('sqlite'),
  SQLITE_PATH: z.string().min(1).default('./data/profiles.db'),
  SQLITE_READER_THREAD: z
    .enum(['true', 'false'], { error: 'must be true or false' })
    .transform((v) => v === 'true')
    .default(true),
  REDIS_URL: z
    .string()
    .trim()
    .refine(isRedisUrlList, 'must be redis://[user:password@]host[:port][/db] or rediss://… (with REDIS_CLUSTER=true, a comma-separated list)')
    .default('redis://127.0.0.1:6379'),
  REDIS_CLUSTER: z
    .enum(['true', 'false'], { error: 'must be true or false' })
    .transform((v) => v === 'true')
    .default(false),
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{0,64}$/, 'must be up to 64 characters of A-Z a-z 0-9 . _ : -')
    .default('nextbest:'),
  PROFILE_CACHE_MAX: int(0, 10_000_000).default(10_000),
  TOUCHPOINT_RETENTION_DAYS: positiveNumber.default(365),
  MAX_TOUCHPOINTS_PER_PROFILE: int(1, 100_000).default(1000),
  MAX_ALIASES_PER_CUSTOMER: int(1, 100_000).default(100),
  SHUTDOWN_TIMEOUT_MS: int(0, 600_000).default(10_000),
  RULES_POLL_INTERVAL_MS: int(0, 3_600_000).default(2000),
  EVALUATOR: z.enum(['compiled', 'json-rules-engine'], { error: 'must be one of compiled, json-rules-engine' }).default('compiled'),
  API_KEYS: z.string().optional(),
  DECISION_ID_KEYS: z.string().optional(),
  CORS_ORIGINS: z.string().optional(),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { error: 'must be one of fatal, error, warn, info, debug, trace, silent' })
    .default('info'),
  MAX_BODY_BYTES: int(1024, 64 * 1024 * 1024).default(1024 * 1024),
  REQUEST_TIMEOUT_MS: int(1000, 600_000).default(30_000),
  HEADERS_TIMEOUT_MS: int(1000, 600_000).default(10_000),
  KEEP_ALIVE_TIMEOUT_MS: int(0, 600_000).default(5_000),
  STORE_TIMEOUT_MS: int(10, 60_000).default(1000),
  JOURNEY_MAX_AGE_SECONDS: int(0, 86_400).default(60),
  HEAP_GROWING_PERCENT: int(0, 1000).default(100),
});

/** Variables whose values are never repeated in an error message. */
const SECRET_VARIABLES = new Set(['API_KEYS', 'REDIS_URL']);

function isRedisUrlList(value: string): boolean {
  const urls = value.split(',').map((u) => u.trim());
  return urls.every((u) => {
    try {
      const url = new URL(u);
      return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '';
    } catch {
      return false;
    }
  });
}

/** The URL without its password, fit for a log line. */
export function redactUrl(value: string): string {
  return value
    .split(',')
    .map((u) => {
      try {
        const url = new URL(u.trim());
        if (url.password) url.password = '***';
        return url.toString();
      } catch {
        return '(invalid URL)';
      }
    })
    .join(',');
}

export const SCOPES = ['decide', 'ingest', 'profiles', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface ApiKey {
  key: string;
  scopes: ReadonlySet<Scope>;
}

export interface Config {
  port: number;
  host: string;
  rulesDir: string;
  store: 'sqlite' | 'memory' | 'redis';
  sqlitePath: string;
  /** For STORE=sqlite: read groups of customers for decisions (streams, batches) on a reader thread. */
  sqliteReaderThread: boolean;
  /** For STORE=redis: the server, or with redisCluster the seed nodes, comma-separated. May hold a password: never log it whole. */
  redisUrl: string;
  redisCluster: boolean;
  redisKeyPrefix: string;
  profileCacheMax: number;
  touchpointRetentionDays: number;
  maxTouchpointsPerProfile: number;
  /** Most aliases of one customer (contract section 11); past it, POST …/aliases answers 409. */
  maxAliasesPerCustomer: number;
  shutdownTimeoutMs: number;
  rulesPollIntervalMs: number;
  /** How big rule files and placements may get; larger ones are rule errors. */
  ruleLimits: Readonly<RuleLimits>;
  evaluator: Evaluator;
  /** null: API_KEYS unset, no authentication. */
  apiKeys: readonly ApiKey[] | null;
  /** The keys decision ids are signed with, the first signing (DECISION_ID_KEYS); null: one generated and shared through the store. */
  decisionIdKeys: readonly DecisionKey[] | null;
  /** Origins browsers may call from; empty: no CORS headers. `*` allows any. */
  corsOrigins: readonly string[];
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  maxBodyBytes: number;
  requestTimeoutMs: number;
  headersTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** How long a profile store call may take before it counts as the store failing. */
  storeTimeoutMs: number;
  /** A journey map older than this is recomputed in the background when next asked for. */
  journeyMaxAgeMs: number;
  /** How far V8 lets the old generation grow past what survived the last full collection, in percent; 0: V8's own choice (lifecycle.ts, limitHeapGrowth). */
  heapGrowingPercent: number;
}

export type Evaluator = 'compiled' | 'json-rules-engine';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Readonly<Config> {
  // An empty variable means "not set", as in most shells' `VAR= cmd`.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  const problems = parsed.success ? [] : describeIssues(parsed.error.issues, env);
  const apiKeys = parseApiKeys(present.API_KEYS, problems);
  let decisionIdKeys: DecisionKey[] | null = null;
  if (present.DECISION_ID_KEYS !== undefined) {
    try {
      decisionIdKeys = parseDecisionKeys(present.DECISION_ID_KEYS);
    } catch (err) {
      problems.push(`DECISION_ID_KEYS: ${(err as Error).message}`);
    }
  }
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const e = parsed.data;
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    rulesDir: e.RULES_DIR,
    store: e.STORE,
    sqlitePath: e.SQLITE_PATH,
    sqliteReaderThread: e.SQLITE_READER_THREAD,
    redisUrl: e.REDIS_URL,
    redisCluster: e.REDIS_CLUSTER,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    profileCacheMax: e.PROFILE_CACHE_MAX,
    touchpointRetentionDays: e.TOUCHPOINT_RETENTION_DAYS,
    maxTouchpointsPerProfile: e.MAX_TOUCHPOINTS_PER_PROFILE,
    maxAliasesPerCustomer: e.MAX_ALIASES_PER_CUSTOMER,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    rulesPollIntervalMs: e.RULES_POLL_INTERVAL_MS,
    ruleLimits: Object.freeze({ maxFileBytes: e.RULES_MAX_FILE_BYTES, maxRulesPerPlacement: e.RULES_MAX_RULES_PER_PLACEMENT }),
    evaluator: e.EVALUATOR,
    apiKeys,
    decisionIdKeys,
    corsOrigins: (e.CORS_ORIGINS ?? '').split(',').map((o) => o.trim()).filter(Boolean),
    logLevel: e.LOG_LEVEL,
    maxBodyBytes: e.MAX_BODY_BYTES,
    requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
    headersTimeoutMs: e.HEADERS_TIMEOUT_MS,
    keepAliveTimeoutMs: e.KEEP_ALIVE_TIMEOUT_MS,
    storeTimeoutMs: e.STORE_TIMEOUT_MS,
    journeyMaxAgeMs: e.JOURNEY_MAX_AGE_SECONDS * 1000,
    heapGrowingPercent: e.HEAP_GROWING_PERCENT,
  });
}

/**
 * The rule limits alone, for the validate and test commands: they check a
 * folder as the service would load it, without needing the rest of a
 * server's configuration to be valid.
 */
export function loadRuleLimits(env: Record<string, string | undefined> = process.env): Readonly<RuleLimits> {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = z.object(ruleLimitVariables).safeParse(present);
  if (!parsed.success) throw new ConfigError(describeIssues(parsed.error.issues, env));
  return Object.freeze({ maxFileBytes: parsed.data.RULES_MAX_FILE_BYTES, maxRulesPerPlacement: parsed.data.RULES_MAX_RULES_PER_PLACEMENT });
}

function describeIssues(issues: readonly z.core.$ZodIssue[], env: Record<string, string | undefined>): string[] {
  return issues.map((issue) => {
    const name = String(issue.path[0] ?? '?');
    // A URL may carry a password: name the variable, never echo it.
    return SECRET_VARIABLES.has(name) ? `${name}: ${issue.message}` : `${name}: ${issue.message} (got ${JSON.stringify(env[name])})`;
  });
}

/**
 * API_KEYS is `key:scope[+scope...]` separated by commas. Problems name the
 * entry by position, never by its key: the message may end up in a log.
 */
function parseApiKeys(raw: string | undefined, problems: string[]): ApiKey[] | null {
  if (raw === undefined) return null;
  const keys: ApiKey[] = [];
  const seen = new Set<string>();
  raw.split(',').forEach((entry, i) => {
    const where = `API_KEYS: entry ${i + 1}`;
    const trimmed = entry.trim();
    if (trimmed === '') return; // a trailing comma
    const colon = trimmed.lastIndexOf(':');
    if (colon <= 0) {
      problems.push(`${where}: must be key:scope[+scope...], with scopes from ${SCOPES.join(', ')}`);
      return;
    }
    const key = trimmed.slice(0, colon);
    const scopes = trimmed.slice(colon + 1).split('+');
    const unknown = scopes.filter((scope) => !(SCOPES as readonly string[]).includes(scope));
    if (unknown.length > 0 || scopes.length === 0) {
      problems.push(`${where}: unknown scope ${unknown.map((u) => JSON.stringify(u)).join(', ')}; scopes are ${SCOPES.join(', ')}`);
      return;
    }
    if (/\s/.test(key)) {
      problems.push(`${where}: the key may not contain white space`);
      return;
    }
    if (seen.has(key)) {
      problems.push(`${where}: the same key appears twice`);
      return;
    }
    seen.add(key);
    keys.push({ key, scopes: new Set(scopes as Scope[]) });
  });
  if (keys.length === 0 && problems.length === 0) problems.push('API_KEYS: is set but names no key; unset it to run without authentication');
  return keys;
}
