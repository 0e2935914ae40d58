/**
 * The service's configuration, read from the environment once (contract
 * section 2). An invalid value stops start-up with a message naming the variable.
 */
import * as z from 'zod';

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

const envSchema = z.object({
  PORT: int(0, 65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  RULES_DIR: z.string().min(1).default('./rules'),
  STORE: z.enum(['sqlite', 'memory'], { error: 'must be one of sqlite, memory' }).default('sqlite'),
  SQLITE_PATH: z.string().min(1).default('./data/profiles.db'),
  PROFILE_CACHE_MAX: int(0, 10_000_000).default(10_000),
  TOUCHPOINT_RETENTION_DAYS: positiveNumber.default(365),
  MAX_TOUCHPOINTS_PER_PROFILE: int(1, 100_000).default(1000),
  SHUTDOWN_TIMEOUT_MS: int(0, 600_000).default(10_000),
  RULES_POLL_INTERVAL_MS: int(0, 3_600_000).default(2000),
  EVALUATOR: z.enum(['compiled', 'json-rules-engine'], { error: 'must be one of compiled, json-rules-engine' }).default('compiled'),
});

export interface Config {
  port: number;
  host: string;
  rulesDir: string;
  store: 'sqlite' | 'memory';
  sqlitePath: string;
  profileCacheMax: number;
  touchpointRetentionDays: number;
  maxTouchpointsPerProfile: number;
  shutdownTimeoutMs: number;
  rulesPollIntervalMs: number;
  evaluator: Evaluator;
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
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const name = String(issue.path[0] ?? '?');
        return `${name}: ${issue.message} (got ${JSON.stringify(env[name])})`;
      }),
    );
  }
  const e = parsed.data;
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    rulesDir: e.RULES_DIR,
    store: e.STORE,
    sqlitePath: e.SQLITE_PATH,
    profileCacheMax: e.PROFILE_CACHE_MAX,
    touchpointRetentionDays: e.TOUCHPOINT_RETENTION_DAYS,
    maxTouchpointsPerProfile: e.MAX_TOUCHPOINTS_PER_PROFILE,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    rulesPollIntervalMs: e.RULES_POLL_INTERVAL_MS,
    evaluator: e.EVALUATOR,
  });
}
