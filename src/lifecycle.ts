/**
 * What the process does around the service rather than for a request:
 * signals, periodic upkeep, the HTTP server's timeouts and its graceful drain.
 * main.ts composes the service; this file keeps it running and stops it.
 */
import { ServerResponse, STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import v8 from 'node:v8';
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
  /**
   * The shutdown deadline, counted from `stopListening` (or `drain`): at most
   * half of it goes to taking the connections queued before, and when it
   * passes the remaining connections are cut.
   */
  shutdownTimeoutMs: number;
  logger: Logger;
}

export interface HttpServer {
  /** The address it listens on, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  /**
   * Takes the connections already queued on the listening socket, then stops
   * listening; resolves once new connections are refused. From the call on,
   * every answer says `Connection: close`.
   */
  stopListening(): Promise<void>;
  /**
   * Stops listening (as above), closes the connections idle between two
   * requests, and answers every request already received or still to come on
   * an open connection, each connection closed after its answer. Resolves
   * when the last connection has closed, or at the shutdown deadline
   * (counted from the first call of either method), which cuts the rest.
   */
  drain(): Promise<void>;
}

/** Responses assigned to a socket and not yet flushed (see ConnectionState.track). */
const OPEN_RESPONSES = Symbol('openResponses');
/** The request the socket's latest response answers: whether its body is still arriving when the socket closes. */
const REQUEST = Symbol('request');
/** Closing lingering (lingeringClose). */
const LINGERING = Symbol('lingering');
type TrackedSocket = Socket & { [OPEN_RESPONSES]?: number; [REQUEST]?: IncomingMessage; [LINGERING]?: true };

/** How long a connection closing lingering reads what its client still sends before it is closed regardless. */
const LINGER_MS = 2000;

/** Serves `fetch` on a port, with the server's timeouts set and a drain for shutdown. */
export async function serveHttp(fetch: FetchHandler, options: ServeOptions): Promise<HttpServer> {
  const connections = new ConnectionState();
  const server = await new Promise<Server>((resolve) => {
    const s = serve(
      { fetch, port: options.port, hostname: options.host, serverOptions: { ServerResponse: serviceResponse(connections) } },
      () => resolve(s as Server),
    );
  });
  connections.track(server);
  // A client that trickles its headers or body cannot hold a connection forever.
  server.headersTimeout = options.headersTimeoutMs;
  server.requestTimeout = options.requestTimeoutMs;
  server.keepAliveTimeout = options.keepAliveTimeoutMs;
  server.on('clientError', answerClientError);
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  const drain = createDrain(server, connections, options.shutdownTimeoutMs, options.logger);
  return { url, stopListening: drain.stopListening, drain: drain.drain };
}

/**
 * Node's own answer to a client error (what it does with no listener), but
 * for one case: the request timeout of a request whose answer has already
 * begun while its body still arrives (POST /v1/decisions/stream, answering
 * as the lines come). That client is being answered, not trickling, and a
 * send of a million lines lasts longer than REQUEST_TIMEOUT_MS; Node checks
 * each request once, so it is not asked again.
 */
const CLIENT_ERROR_STATUS: Record<string, number> = { HPE_HEADER_OVERFLOW: 431, HPE_CHUNK_EXTENSIONS_OVERFLOW: 413, ERR_HTTP_REQUEST_TIMEOUT: 408 };

function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  const answer = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  const answering = answer !== undefined && answer !== null && answer.headersSent;
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT' && answering && !answer.writableEnded) return;
  if (socket.writable && !answering) {
    const status = CLIENT_ERROR_STATUS[error.code ?? ''] ?? 400;
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\n\r\n`);
  }
  socket.destroy(error);
}

/**
 * Which connections are between two requests, known without Node's
 * internals: a socket counts the responses it carries from the moment one is
 * given the socket until it is flushed (ServerResponse's `assignSocket` and
 * `detachSocket`, overridden in serviceResponse). A socket that has carried
 * one and carries none now is idle; one that never carried any has not sent
 * its first request yet, and is not idle.
 */
class ConnectionState {
  draining = false;
  readonly #sockets = new Set<TrackedSocket>();

  track(server: Server): void {
    server.on('connection', (socket: TrackedSocket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
      // Node closes a connection after an answer that says `Connection: close` with destroySoon (as does
      // @hono/node-server when its drain of the body gives up); lingering while the body still arrives.
      const destroySoon = socket.destroySoon.bind(socket);
      socket.destroySoon = () => {
        const request = socket[REQUEST];
        if (request !== undefined && !request.complete) lingeringClose(socket);
        else destroySoon();
      };
    });
    // Node's own closeIdleConnections, which its close() calls, also destroys a connection whose
    // answer has been ended but not yet flushed, and its client gets a reset in the middle of the
    // body (a large batch answer to a slow reader). This one leaves such connections alone.
    server.closeIdleConnections = () => {
      for (const socket of this.#sockets) if (socket[OPEN_RESPONSES] === 0) socket.destroy();
    };
  }

  /** While draining, a connection that has just flushed an answer announced as kept alive is closed, unless another request came. */
  wentIdle(socket: TrackedSocket): void {
    if (!this.draining) return;
    setImmediate(() => {
      if (socket[OPEN_RESPONSES] === 0) socket.destroy();
    });
  }
}

/**
 * Node's ServerResponse with two additions.
 *
 * It decides at the moment its headers are written whether the connection
 * stays open for another request. On top of Node's own reasons (HTTP/1.0,
 * the client's `Connection: close`, …) it answers `Connection: close`, and
 * Node closes the connection after the answer, when
 *
 * - the server is draining for shutdown: the client learns not to send
 *   another request on a connection that is about to go; and
 * - the request's body was not read to its end: an answer given early (413
 *   on the declared length, 401, 404) leaves body bytes on the wire, and
 *   what would read them afterwards may not get through them (@hono/node-server
 *   drains for at most 500 ms, then closes; a body stream already started
 *   but never read stalls it). A connection announced as kept alive and then
 *   closed fails the client's next request on it ("other side closed"); one
 *   announced as closing does not.
 *
 * Node reads `shouldKeepAlive` once, in the code that writes the headers,
 * so the rule costs a few property reads per answer.
 *
 * It also counts, on its socket, the responses not yet flushed, and keeps
 * there the request the latest answers (ConnectionState).
 */
function serviceResponse(connections: ConnectionState): typeof ServerResponse {
  const keepAlive = Symbol('keepAlive');
  type Response = ServerResponse & { [keepAlive]?: boolean };
  class ServiceResponse extends ServerResponse {
    override assignSocket(socket: TrackedSocket): void {
      super.assignSocket(socket);
      socket[OPEN_RESPONSES] = (socket[OPEN_RESPONSES] ?? 0) + 1;
      socket[REQUEST] = this.req;
    }

    override detachSocket(socket: TrackedSocket): void {
      super.detachSocket(socket);
      socket[OPEN_RESPONSES] = (socket[OPEN_RESPONSES] ?? 1) - 1;
      if (socket[OPEN_RESPONSES] === 0) connections.wentIdle(socket);
    }
  }
  Object.defineProperty(ServiceResponse.prototype, 'shouldKeepAlive', {
    get(this: Response): boolean {
      return this[keepAlive] === true && !connections.draining && bodyReadToEnd(this.req);
    },
    set(this: Response, value: boolean) {
      this[keepAlive] = value;
    },
  });
  // A subclass with the same constructor; TypeScript cannot see that it stays generic over the request type.
  return ServiceResponse as typeof ServerResponse;
}

/**
 * Closes a connection whose client may still be sending the request's body
 * (answered early: 413 on the declared length, 401, 404) without resetting
 * it. Closed at once, the socket would still hold unread bytes, and the
 * kernel answers that with a reset, which can reach the client before it has
 * read the answer: it sees EPIPE or ECONNRESET instead of the 413. So the
 * answer is followed by the end of the service's side, what the client
 * still sends is read and dropped (the request is dumped), and the socket is
 * closed when the client ends its side, or after LINGER_MS: HTTP/1.1's
 * advice (RFC 9112, section 9.6), as Apache and nginx do it.
 */
function lingeringClose(socket: TrackedSocket): void {
  if (socket[LINGERING]) return;
  socket[LINGERING] = true;
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  socket.once('end', () => socket.destroy());
  socket.end();
  socket.resume();
}

/** True when the request has no body, or what it had has been read: nothing of it is left to arrive or be consumed. */
function bodyReadToEnd(req: IncomingMessage): boolean {
  // The usual case, a GET included: the parser has the whole message and nothing of it waits unread.
  if (req.complete) return req.readableLength === 0;
  // An answer started before the parser reached the end of the message: harmless only without a body.
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] === undefined && (length === undefined || length === '0');
}

/**
 * The shutdown of one server, in two steps that each run once.
 *
 * Closing a listening socket makes the kernel reset the connections still
 * queued on it, whose clients have already sent their requests; and Node
 * takes one queued connection per turn of its event loop, so on a busy
 * server (a turn that decides a batch of 1000 takes a while) a connection
 * can wait there for seconds. So the listening socket stays open until a
 * turn of the loop takes no new connection, which means the queue is empty,
 * or until half the shutdown deadline has passed, so a client that keeps
 * connecting cannot hold it open. Whatever is taken in the meantime is
 * answered with `Connection: close`.
 *
 * Then Node's close() stops listening and closes the connections idle
 * between two requests (ConnectionState's closeIdleConnections). A
 * connection accepted but whose request Node has not read yet is not idle:
 * it gets its answer.
 */
function createDrain(server: Server, connections: ConnectionState, timeoutMs: number, logger: Logger): Pick<HttpServer, 'stopListening' | 'drain'> {
  let listening: Promise<void> | null = null;
  let drained: Promise<void> | null = null;
  let closed: Promise<void> | null = null;
  let deadline: NodeJS.Timeout | undefined;

  const stopListening = (): Promise<void> => {
    listening ??= (async () => {
      connections.draining = true;
      deadline = setTimeout(() => {
        logger.warn('shutdown deadline reached; closing the remaining connections', { timeoutMs });
        server.closeAllConnections();
      }, timeoutMs);
      deadline.unref();
      await acceptQueuedConnections(server, timeoutMs / 2);
      closed = new Promise((resolve) => server.close(() => resolve()));
    })();
    return listening;
  };

  const drain = (): Promise<void> => {
    drained ??= (async () => {
      await stopListening();
      await closed;
      clearTimeout(deadline);
    })();
    return drained;
  };

  return { stopListening, drain };
}

/** Resolves after a turn of the event loop that took no new connection, or after `maxMs`. */
function acceptQueuedConnections(server: Server, maxMs: number): Promise<void> {
  return new Promise((resolve) => {
    let accepted = 0;
    const count = () => accepted++;
    server.on('connection', count);
    const started = performance.now();
    let seen = -1;
    const check = () => {
      if (accepted === seen || performance.now() - started >= maxMs) {
        server.off('connection', count);
        resolve();
        return;
      }
      seen = accepted;
      setImmediate(check);
    };
    setImmediate(check);
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
export function sweepExpiredPeriodically(store: { sweepExpired(now: number): Promise<number> }, logger: Logger, what = 'touchpoint'): () => void {
  const sweepExpired = () => {
    store.sweepExpired(Date.now()).catch((err: Error) => logger.warn(`${what} sweep failed`, { error: err.message }));
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

/**
 * On SIGTERM or SIGINT: stops listening, says so ("shutting down": from this
 * line on, new connections are refused), stops the service, then exits 0, or
 * 1 if stopping failed.
 */
export function exitOnShutdownSignal(service: { stopListening(): Promise<void>; stop(): Promise<void> }, logger: Logger): void {
  const shutdown = (signal: string) => {
    service
      .stopListening()
      .then(() => {
        logger.info('shutting down', { signal });
        return service.stop();
      })
      .then(
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

/**
 * The background work of reports and optimize: served counts flushed to the
 * report store every 10 s, optimize's goal statistics read back every 10 s,
 * and the report days past retention swept with the touchpoints. The
 * returned stop ends the timers and flushes what is left (graceful shutdown),
 * before the store is closed.
 */
export function runReportsInBackground(
  reports: { served: { flush(): Promise<void> }; goalStats: { refresh(): Promise<void> }; store: { sweepExpired(now: number): Promise<number> } },
  logger: Logger,
  intervalMs = 10_000,
): () => Promise<void> {
  // The counter keeps what it could not send and reports the failure itself (createReports' onFlushError).
  const flush = () => reports.served.flush();
  const refresh = () =>
    void reports.goalStats.refresh().catch((err: Error) => logger.warn('optimize statistics could not be refreshed; the last ones are kept', { error: err.message }));
  void refresh();
  const flushing = setInterval(() => void flush(), intervalMs);
  flushing.unref();
  const refreshing = setInterval(refresh, intervalMs);
  refreshing.unref();
  const stopSweeps = sweepExpiredPeriodically(reports.store, logger, 'report');
  return async () => {
    clearInterval(flushing);
    clearInterval(refreshing);
    stopSweeps();
    await flush();
  };
}

/**
 * Caps how far V8 lets the old generation grow past what survived the last
 * full collection before it collects again: `percent` 100 lets it double.
 * Left to itself, V8 lets a busy process's old generation grow to about four
 * times what is live when collections are cheap next to the work, so a
 * decision stream's memory swung by 60-80 MB around a live heap of about
 * 22 MB: objects that outlive two young collections (a group's profiles and
 * answers, waiting on the socket) are promoted and only freed by a full
 * collection. At 100 a full collection runs about every 0.7 s of a stream,
 * 8-17 ms each on that heap, mostly concurrent, and the RSS stays within
 * about 15 MB (docs/performance.md). The flag is read each time V8 sets the
 * next limit, so setting it at start-up takes effect. 0 leaves V8's choice.
 */
export function limitHeapGrowth(percent: number): void {
  if (percent > 0) v8.setFlagsFromString(`--heap-growing-percent=${Math.trunc(percent)}`);
}
