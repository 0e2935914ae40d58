import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger, silentLogger, type Logger, type LogLevel } from '../../src/observability/logger.js';

function capturing(level?: LogLevel): { logger: Logger; raw: string[]; lines: () => Array<Record<string, unknown>> } {
  const raw: string[] = [];
  const logger = createLogger({ ...(level ? { level } : {}), destination: { write: (line: string) => void raw.push(line) } });
  return { logger, raw, lines: () => raw.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

const everyLevel = (logger: Logger) => {
  logger.debug('d');
  logger.info('i');
  logger.warn('w');
  logger.error('e');
};

describe('createLogger', () => {
  it('writes one JSON object a line: level word, ISO time, msg and the fields', () => {
    const { logger, raw, lines } = capturing();
    logger.info('rules loaded', { version: 'abc', placements: ['home-hero'] });
    expect(raw).toHaveLength(1);
    expect(raw[0]?.endsWith('\n')).toBe(true);
    expect(raw[0]?.indexOf('\n')).toBe((raw[0]?.length ?? 0) - 1);
    const [line] = lines();
    expect(line).toEqual({ level: 'info', time: expect.any(String), msg: 'rules loaded', version: 'abc', placements: ['home-hero'] });
    expect(new Date(line?.time as string).toISOString()).toBe(line?.time);
  });

  it('defaults to info and honours each level', () => {
    const byDefault = capturing();
    everyLevel(byDefault.logger);
    expect(byDefault.lines().map((l) => l.level)).toEqual(['info', 'warn', 'error']);

    const cases: Array<[LogLevel, string[]]> = [
      ['trace', ['debug', 'info', 'warn', 'error']],
      ['debug', ['debug', 'info', 'warn', 'error']],
      ['info', ['info', 'warn', 'error']],
      ['warn', ['warn', 'error']],
      ['error', ['error']],
      ['fatal', []],
      ['silent', []],
    ];
    for (const [level, expected] of cases) {
      const { logger, lines } = capturing(level);
      everyLevel(logger);
      expect(lines().map((l) => l.level), level).toEqual(expected);
    }
  });

  it('honours LOG_LEVEL through the configuration', () => {
    expect(loadConfig({}).logLevel).toBe('info');
    const { logger, lines } = capturing(loadConfig({ LOG_LEVEL: 'warn' }).logLevel);
    everyLevel(logger);
    expect(lines().map((l) => l.msg)).toEqual(['w', 'e']);
    expect(() => loadConfig({ LOG_LEVEL: 'verbose' })).toThrow(/LOG_LEVEL/);
  });

  it('writes an Error under `err` with its type, message and stack', () => {
    const { logger, lines } = capturing();
    class StoreError extends Error {
      override name = 'StoreError';
    }
    logger.error('request', { err: new StoreError('disk on fire') });
    const err = lines()[0]?.err as Record<string, unknown>;
    expect(err).toMatchObject({ type: 'StoreError', message: 'disk on fire' });
    expect(err.stack).toMatch(/^StoreError: disk on fire\n\s+at /);
  });

  it('redacts API keys and credentials a caller passes by mistake', () => {
    const { logger, raw } = capturing();
    logger.info('oops', {
      apiKeys: [{ key: 'secret-1', scopes: ['admin'] }],
      config: { apiKeys: 'secret-2', port: 3000 },
      headers: { authorization: 'Bearer secret-3', 'x-api-key': 'secret-4', cookie: 'secret-5', accept: 'application/json' },
      authorization: 'secret-6',
    });
    const text = raw.join('');
    for (const secret of ['secret-1', 'secret-2', 'secret-3', 'secret-4', 'secret-5', 'secret-6']) expect(text).not.toContain(secret);
    expect(text).toContain('application/json');
    expect(text).toContain('"port":3000');
  });

  it('writes unredacted lines like the others, at their level, skipping only the redaction', () => {
    const { logger, lines } = capturing('info');
    const fields = { requestId: 'r-1', method: 'GET', route: '/v1/decisions/:customerId', status: 200, latencyMs: 1.5 };
    logger.info('request', fields);
    logger.unredacted('info', 'request', fields);
    logger.unredacted('debug', 'request', fields);
    logger.unredacted('error', 'request', { ...fields, status: 503 });
    const [viaInfo, unredacted, error] = lines();
    expect(lines()).toHaveLength(3);
    expect({ ...unredacted, time: undefined }).toEqual({ ...viaInfo, time: undefined });
    expect(Object.keys(unredacted ?? {})).toEqual(Object.keys(viaInfo ?? {}));
    expect(error).toMatchObject({ level: 'error', msg: 'request', status: 503 });
    // It is the caller's promise that nothing secret is in the fields: nothing is censored.
    const plain = capturing();
    plain.logger.unredacted('info', 'm', { authorization: 'not-a-secret-here' });
    expect(plain.raw.join('')).toContain('not-a-secret-here');
  });

  it('keeps a message that contains quotes or new lines on one line', () => {
    const { logger, raw, lines } = capturing();
    logger.warn('line one\nline two "quoted"', { path: '$.a\n{"level":"fatal"}' });
    expect(raw).toHaveLength(1);
    expect(raw[0]?.split('\n')).toHaveLength(2);
    expect(lines()[0]).toMatchObject({ level: 'warn', msg: 'line one\nline two "quoted"' });
    logger.unredacted('info', 'a "quoted"\nmessage', { route: '/x\n{"level":"fatal"}' });
    expect(raw).toHaveLength(2);
    expect(raw[1]?.split('\n')).toHaveLength(2);
    expect(lines()[1]).toMatchObject({ level: 'info', msg: 'a "quoted"\nmessage', route: '/x\n{"level":"fatal"}' });
  });
});

describe('silentLogger', () => {
  it('accepts every level and writes nothing', () => {
    expect(() => everyLevel(silentLogger)).not.toThrow();
  });
});
