import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, loadRuleLimits, redactUrl } from '../../src/config.js';

describe('loadConfig', () => {
  it('applies the contract defaults', () => {
    expect(loadConfig({})).toEqual({
      port: 3000,
      host: '0.0.0.0',
      rulesDir: './rules',
      store: 'sqlite',
      sqlitePath: './data/profiles.db',
      sqliteReaderThread: true,
      redisUrl: 'redis://127.0.0.1:6379',
      redisCluster: false,
      redisKeyPrefix: 'nextbest:',
      profileCacheMax: 10000,
      touchpointRetentionDays: 365,
      maxTouchpointsPerProfile: 1000,
      maxAliasesPerCustomer: 100,
      shutdownTimeoutMs: 10000,
      rulesPollIntervalMs: 2000,
      ruleLimits: { maxFileBytes: 5 * 1024 * 1024, maxRulesPerPlacement: 1000 },
      evaluator: 'compiled',
      apiKeys: null,
      decisionIdKeys: null,
      corsOrigins: [],
      logLevel: 'info',
      maxBodyBytes: 1048576,
      requestTimeoutMs: 30000,
      headersTimeoutMs: 10000,
      keepAliveTimeoutMs: 5000,
      storeTimeoutMs: 1000,
      journeyMaxAgeMs: 60_000,
      heapGrowingPercent: 100,
    });
  });

  it('reads every variable', () => {
    const config = loadConfig({
      PORT: '8080',
      HOST: '127.0.0.1',
      RULES_DIR: '/etc/rules',
      STORE: 'memory',
      SQLITE_PATH: '/var/lib/nb.db',
      PROFILE_CACHE_MAX: '0',
      TOUCHPOINT_RETENTION_DAYS: '30.5',
      MAX_TOUCHPOINTS_PER_PROFILE: '50',
      SHUTDOWN_TIMEOUT_MS: '2000',
    });
    expect(config).toMatchObject({ port: 8080, store: 'memory', profileCacheMax: 0, touchpointRetentionDays: 30.5, maxTouchpointsPerProfile: 50 });
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ PORT: '' }).port).toBe(3000);
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['STORE', 'postgres'],
    ['EVALUATOR', 'fast'],
    ['PROFILE_CACHE_MAX', '-1'],
    ['TOUCHPOINT_RETENTION_DAYS', '0'],
    ['MAX_TOUCHPOINTS_PER_PROFILE', '0'],
    ['MAX_TOUCHPOINTS_PER_PROFILE', '1.5'],
    ['RULES_MAX_FILE_BYTES', '5MB'],
    ['RULES_MAX_FILE_BYTES', '100'],
    ['RULES_MAX_RULES_PER_PLACEMENT', '0'],
  ])('rejects %s=%s naming the variable and the value', (name, value) => {
    try {
      loadConfig({ [name]: value });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toContain(`${name}:`);
      expect((err as Error).message).toContain(JSON.stringify(value));
    }
  });

  it('reads the redis variables', () => {
    expect(loadConfig({ STORE: 'redis', REDIS_URL: 'rediss://user:pw@cache.internal:6380/2', REDIS_KEY_PREFIX: 'shop-a:' })).toMatchObject({
      store: 'redis',
      redisUrl: 'rediss://user:pw@cache.internal:6380/2',
      redisCluster: false,
      redisKeyPrefix: 'shop-a:',
    });
    expect(loadConfig({ REDIS_CLUSTER: 'true', REDIS_URL: 'redis://10.0.0.1:7000, redis://10.0.0.2:7000' }).redisCluster).toBe(true);
  });

  it('reads HEAP_GROWING_PERCENT, 0 leaving the choice to V8', () => {
    expect(loadConfig({ HEAP_GROWING_PERCENT: '0' }).heapGrowingPercent).toBe(0);
    expect(loadConfig({ HEAP_GROWING_PERCENT: '50' }).heapGrowingPercent).toBe(50);
  });

  it('reads SQLITE_READER_THREAD', () => {
    expect(loadConfig({ SQLITE_READER_THREAD: 'false' }).sqliteReaderThread).toBe(false);
    expect(loadConfig({ SQLITE_READER_THREAD: 'true' }).sqliteReaderThread).toBe(true);
  });

  it.each([
    ['REDIS_URL', 'http://cache:6379'],
    ['REDIS_URL', 'not a url'],
    ['REDIS_CLUSTER', 'yes'],
    ['SQLITE_READER_THREAD', 'on'],
    ['HEAP_GROWING_PERCENT', '-1'],
    ['HEAP_GROWING_PERCENT', '1001'],
    ['REDIS_KEY_PREFIX', 'has space'],
  ])('rejects %s=%s', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(`${name}:`);
  });

  it('never repeats a REDIS_URL in an error, since it may hold a password', () => {
    try {
      loadConfig({ REDIS_URL: 'http://admin:s3cret@cache:6379' });
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toContain('REDIS_URL:');
      expect((err as Error).message).not.toContain('s3cret');
    }
  });

  it('redacts the password of a URL for the log', () => {
    expect(redactUrl('redis://user:s3cret@cache:6379/1')).toBe('redis://user:***@cache:6379/1');
    expect(redactUrl('redis://a:1,redis://:pw@b:2')).toBe('redis://a:1,redis://:***@b:2');
  });

  it('reports every invalid variable at once', () => {
    expect(() => loadConfig({ PORT: 'x', STORE: 'y' })).toThrow(/PORT:[\s\S]*STORE:/);
  });

  it('parses API_KEYS into keys and scopes', () => {
    const config = loadConfig({ API_KEYS: 'site-key-1:decide, crm-key:ingest+profiles ,ops:admin' });
    expect(config.apiKeys?.map((k) => [k.key, [...k.scopes]])).toEqual([
      ['site-key-1', ['decide']],
      ['crm-key', ['ingest', 'profiles']],
      ['ops', ['admin']],
    ]);
  });

  it.each([
    ['secret-without-scope', 'entry 1: must be key:scope'],
    ['abc:decide,s3cr3t:write', 'entry 2: unknown scope "write"'],
    ['dup:decide,dup:admin', 'entry 2: the same key appears twice'],
    [',', 'names no key'],
  ])('rejects API_KEYS=%j without repeating any key in the message', (value, message) => {
    try {
      loadConfig({ API_KEYS: value });
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toContain(message);
      for (const key of ['secret-without-scope', 's3cr3t', 'dup']) expect((err as Error).message).not.toContain(key);
    }
  });

  it('reads the rule limits, for the service and, on their own, for the validate and test commands', () => {
    const env = { RULES_MAX_FILE_BYTES: '1048576', RULES_MAX_RULES_PER_PLACEMENT: '200' };
    expect(loadConfig(env).ruleLimits).toEqual({ maxFileBytes: 1048576, maxRulesPerPlacement: 200 });
    // The commands read only these two: a server variable they do not use cannot stop them.
    expect(loadRuleLimits({ ...env, PORT: 'not a port' })).toEqual({ maxFileBytes: 1048576, maxRulesPerPlacement: 200 });
    expect(loadRuleLimits({})).toEqual(loadConfig({}).ruleLimits);
    expect(() => loadRuleLimits({ RULES_MAX_RULES_PER_PLACEMENT: 'many' })).toThrow(/RULES_MAX_RULES_PER_PLACEMENT: must be a whole number \(got "many"\)/);
  });

  it('splits CORS_ORIGINS', () => {
    expect(loadConfig({ CORS_ORIGINS: 'https://shop.example, https://m.shop.example' }).corsOrigins).toEqual([
      'https://shop.example',
      'https://m.shop.example',
    ]);
  });
});

describe('DECISION_ID_KEYS', () => {
  it('parses id:secret pairs, the first signing', () => {
    const config = loadConfig({ DECISION_ID_KEYS: 'k2:0123456789abcdefXYZ,k1:abcdefghijklmnopqrst' });
    expect(config.decisionIdKeys?.map((k) => k.id)).toEqual(['k2', 'k1']);
  });

  it('names the variable and the entry at fault', () => {
    expect(() => loadConfig({ DECISION_ID_KEYS: 'k1:short' })).toThrow(/DECISION_ID_KEYS: entry 1 \(k1\)/);
  });
});
