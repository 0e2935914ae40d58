/**
 * Headers added to an answer after its handler made it (request id, CORS).
 *
 * Set on the Response's own headers, in place: `c.header()` on an answer that
 * is already made copies the whole answer, and with @hono/node-server the copy
 * reads the body through a stream, tens of microseconds where this costs one.
 * Hono's copy remains the fallback for an answer whose headers are immutable.
 */
import type { Context } from 'hono';

export function addAnswerHeader(c: Context, name: string, value: string, options: { append?: boolean } = {}): void {
  const res = c.res;
  try {
    if (options.append) res.headers.append(name, value);
    else res.headers.set(name, value);
  } catch {
    c.header(name, value, options);
  }
}
