/**
 * The logging port and its one adapter, on pino: one JSON object a line.
 *
 * Modules log through the small `Logger` port (`logger.info(message, fields)`)
 * rather than pino itself, so that tests hand them `silentLogger` or a logger
 * writing into an array, and so that nothing but this file knows the library.
 */
import { pino, type DestinationStream, type LevelWithSilent } from 'pino';

export interface Logger {
  /** Routine traffic nobody reads unless asked to: health probes, scrapes. Shown with LOG_LEVEL=debug. */
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  /** A field named `err` holding an Error is written with its type, message and stack. */
  error(message: string, fields?: Record<string, unknown>): void;
  /**
   * A line at `level`, like the methods above but without the redaction they
   * apply: only for fields that cannot hold a secret, such as the request log's
   * (a checked request id, method, route pattern, status, latency). Redaction
   * was two thirds of the cost of a line, and the request log writes one for
   * every request.
   */
  unredacted(level: LineLevel, message: string, fields: Record<string, unknown>): void;
}

export type LineLevel = 'debug' | 'info' | 'warn' | 'error';

export type LogLevel = LevelWithSilent;

export interface LoggerOptions {
  /** The least severe level written; default `info`. `silent` writes nothing. */
  level?: LogLevel;
  /** Where the lines go; default stdout. Tests pass a stream that collects them. */
  destination?: DestinationStream;
}

/**
 * Field names whose values are replaced by "[redacted]" wherever a caller
 * passes them, one level deep. Nothing logs them today; this is the net under
 * a future `logger.info('…', { headers })` or `{ config }`.
 */
const REDACTED_PATHS = [
  'apiKey',
  'apiKeys',
  'authorization',
  '*.apiKey',
  '*.apiKeys',
  '*.authorization',
  'headers["x-api-key"]',
  'headers.cookie',
];

/**
 * A Logger writing pino's JSON lines: `{"level":"info","time":"…ISO…","msg":"…",…fields}`.
 * The level is a word and the time an ISO string, as the service logged
 * before pino and as log shippers read without a pino-specific parser.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const settings = {
    level: options.level ?? 'info',
    // No pid and hostname on every line: the container runtime labels the stream with both.
    base: undefined,
    timestamp: isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  const destination =
    // Asynchronous, batched writes: a synchronous write per request line was about
    // a tenth of a GET decision's server CPU, and an asynchronous write per line
    // (a thread-pool job, a syscall and a callback) still about 8 µs of it. Lines
    // wait until 4 KiB are pending (some 25 request lines) or 100 ms have passed,
    // whichever comes first, so a quiet service still shows its lines at once to
    // the eye. pino flushes what is left synchronously on process exit (its
    // destination registers an exit hook), so the lines before `process.exit`
    // or a crash are not lost; only a SIGKILL could drop the last 100 ms. If
    // whatever reads stdout stalls, lines beyond 16 MiB waiting are dropped
    // rather than letting the buffer grow without bound.
    options.destination ??
    pino.destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: 100, maxLength: 16 * 1024 * 1024 });
  const log = pino({ ...settings, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, destination);
  const threshold = log.levelVal;
  // pino takes the fields first and the message second; the port has them the other way round.
  return {
    debug: (message, fields) => log.debug(fields ?? {}, message),
    info: (message, fields) => log.info(fields ?? {}, message),
    warn: (message, fields) => log.warn(fields ?? {}, message),
    error: (message, fields) => log.error(fields ?? {}, message),
    // The line pino would write for these flat fields, `{"level":…,"time":…,…fields,"msg":…}`, made
    // with one JSON.stringify and written to the same destination: pino's own serialisation of a
    // request line was about a tenth of a GET decision's server CPU.
    unredacted: (level, message, fields) => {
      if ((pino.levels.values[level] as number) < threshold) return;
      const body = JSON.stringify(fields);
      destination.write(`{"level":"${level}"${isoTime()}${body.length > 2 ? `,${body.slice(1, -1)}` : ''},"msg":${JSON.stringify(message)}}\n`);
    },
  };
}

let isoTimeMs = NaN;
let isoTimeField = '';

/**
 * pino's `stdTimeFunctions.isoTime`, made once per millisecond: formatting the
 * date was a quarter of a request line's cost, and at load many lines share a
 * millisecond.
 */
function isoTime(): string {
  const now = Date.now();
  if (now !== isoTimeMs) {
    isoTimeMs = now;
    isoTimeField = `,"time":"${new Date(now).toISOString()}"`;
  }
  return isoTimeField;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {}, unredacted() {} };
