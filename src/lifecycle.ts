/**
 * What the process does around the service rather than for a request:
 * signals, periodic upkeep, the HTTP server's timeouts and its graceful drain.
 * main.ts composes the service; this file keeps it running and stops it.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Logger } from './observability/logger.js';

const SWEEP_INTERVAL_MS = 60 * 60 * 1000;
const FIRST_SWEEP_DELAY_MS = 10 * 1000;

type FetchHandler = Parameters<typeof serve>[0]['fetch'];

export interface ServeOptions {
  port: number;
  host: string;
  /** Limits on a client that trickles its headers or body, and on an idle keep-alive connection. */
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** How long `drain` waits for in-flight requests before it cuts the remaining connections. */
  shutdownTimeoutMs: number;
  logger: Logger;
}

export interface HttpServer {
  /** The address it listens on, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  /** Stops accepting connections and waits for in-flight requests, up to the shutdown deadline. */
  drain(): Promise<void>;
}

/** Serves `fetch` on a port, with the server's timeouts set. */
export async function serveHttp(fetch: FetchHandler, options: ServeOptions): Promise<HttpServer> {
  const server = await new Promise<Server>((resolve) => {
    const s = serve({ fetch, port: options.port, hostname: options.host }, () => resolve(s as Server));
  });
  // A client that trickles its headers or body cannot hold a connection forever.
  server.headersTimeout = options.headersTimeoutMs;
  server.requestTimeout = options.requestTimeoutMs;
  server.keepAliveTimeout = options.keepAliveTimeoutMs;
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  return { url, drain: () => drainServer(server, options.shutdownTimeoutMs, options.logger) };
}

/** Stops accepting connections and waits for in-flight requests, up to a deadline. */
function drainServer(server: Server, timeoutMs: number, logger: Logger): Promise<void> {
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

/**
 * `kill -HUP` reloads the rules at once, for deployments that replace files
 * without any event the watcher could see. Returns a function that stops
 * listening for it.
 */
export function reloadOnHangup(reload: () => void, logger: Logger): () => void {
  const onHangup = () => {
    logger.info('SIGHUP: reloading rules');
    reload();
  };
  process.on('SIGHUP', onHangup);
  return () => process.off('SIGHUP', onHangup);
}

/**
 * Reads already hide expired touchpoints; the sweep reclaims their space, a
 * little after start (so a network store has connected by then) and then
 * hourly. Returns a function that stops it.
 */
export function sweepExpiredPeriodically(store: { sweepExpired(now: number): Promise<number> }, logger: Logger): () => void {
  const sweepExpired = () => {
    store.sweepExpired(Date.now()).catch((err: Error) => logger.warn('touchpoint sweep failed', { error: err.message }));
  };
  const firstSweep = setTimeout(sweepExpired, FIRST_SWEEP_DELAY_MS);
  firstSweep.unref();
  const sweep = setInterval(sweepExpired, SWEEP_INTERVAL_MS);
  sweep.unref();
  return () => {
    clearTimeout(firstSweep);
    clearInterval(sweep);
  };
}

/** On SIGTERM or SIGINT: stops the service, then exits 0, or 1 if stopping failed. */
export function exitOnShutdownSignal(service: { stop(): Promise<void> }, logger: Logger): void {
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
