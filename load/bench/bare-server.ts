/**
 * The baseline for the HTTP benchmark: Hono on @hono/node-server with one
 * route that answers every GET /v1/decisions/{id} with the same decision body
 * (a real one, taken from the service), serialised by `c.json` on every
 * request as the service does. No profile, no rules: what is left is the
 * cost of HTTP, routing and JSON.
 *
 *   BARE_BODY_FILE=decision.json [BARE_SPIN_US=30] node --import tsx load/bench/bare-server.ts
 *
 * Prints {"msg":"bare listening","url":...} once it accepts connections.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const bodyFile = process.env.BARE_BODY_FILE;
if (!bodyFile) {
  process.stderr.write('bare-server: set BARE_BODY_FILE to a JSON file to serve\n');
  process.exit(1);
}
const body = JSON.parse(readFileSync(bodyFile, 'utf8')) as Record<string, unknown>;

// BARE_SPIN_US: busy-wait that many microseconds before answering, to see what handler time alone
// costs in throughput on this machine (the benchmark spins as long as the service's handler takes).
const spinMs = Number(process.env.BARE_SPIN_US ?? 0) / 1000;

const app = new Hono();
app.get('/v1/decisions/:customerId', (c) => {
  if (spinMs > 0) {
    const until = performance.now() + spinMs;
    while (performance.now() < until) continue;
  }
  return c.json(body);
});

const server = serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 0), hostname: process.env.HOST ?? '127.0.0.1' }, (info: AddressInfo) => {
  process.stdout.write(`${JSON.stringify({ msg: 'bare listening', url: `http://${info.address}:${info.port}` })}\n`);
});

const stop = () => server.close(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
