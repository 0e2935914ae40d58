import type { Logger } from '../../src/observability/logger.js';

export interface LogLine {
  level: string;
  message: string;
  fields: Record<string, unknown>;
}

/** A Logger that keeps its lines, so tests can count and read them. */
export function recordingLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at =
    (level: string) =>
    (message: string, fields: Record<string, unknown> = {}): void => {
      lines.push({ level, message, fields });
    };
  return {
    lines,
    logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), unredacted: (level, message, fields) => at(level)(message, fields) },
  };
}
