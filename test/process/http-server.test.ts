/**
 * The HTTP server of lifecycle.ts on real sockets, in this process: when a
 * connection is kept alive, and how a drain for shutdown treats each kind of
 * connection (idle, not yet used, in flight, still queued in the kernel).
 */
import { spawn } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import http, { type ServerResponse } from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { serveHttp, type HttpServer } from '../../src/lifecycle.js';
import { silentLogger } from '../../src/observability/logger.js';

const BIG = 'x'.repeat(8 * 1024 * 1024);
const tmp = mkdtempSync(join(tmpdir(), 'nextbest-http-server-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let release: () => void = () => undefined;
const servers: HttpServer[] = [];
afterEach(async () => {
  release();
  await Promise.all(servers.splice(0).map((s) => s.drain()));
});

/** A server whose routes: GET /ok; POST /read reads the body; POST /early answers 413 without reading it; GET /slow waits for `release`; GET /big sends 8 MB. */
async function start(keepAliveTimeoutMs = 5000): Promise<{ server: HttpServer; port: number }> {
  let slow = new Promise<void>((resolve) => (release = resolve));
  const server = await serveHttp(
    async (req: Request) => {
      const path = new URL(req.url).pathname;
      if (path === '/read') return new Response(`read ${(await req.text()).length}`);
      if (path === '/early') return new Response('too large', { status: 413 });
      if (path === '/slow') {
        await slow;
        slow = new Promise<void>((resolve) => (release = resolve));
        return new Response('slow');
      }
      if (path === '/big') return new Response(BIG);
      return new Response('ok');
    },
    { port: 0, host: '127.0.0.1', headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs, shutdownTimeoutMs: 30_000, logger: silentLogger },
  );
  servers.push(server);
  const port = Number(new URL(server.url).port);
  return { server, port };
}

interface Answer {
  status: number;
  connection: string | undefined;
  body: string;
}

function request(port: number, agent: http.Agent, method: string, path: string, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Raw HTTP/1.1 on a socket: resolves with everything the server sent once it closed the connection. */
function readUntilClosed(socket: net.Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
  });
}

function connectOutcome(port: number): Promise<'refused' | 'connected'> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNREFUSED' ? resolve('refused') : reject(err)));
  });
}

describe('keep-alive', () => {
  it('keeps a connection whose request was read to its end, and closes one answered before its body was read', async () => {
    const { port } = await start();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect(await request(port, agent, 'GET', '/ok')).toMatchObject({ status: 200, connection: 'keep-alive' });
      expect(await request(port, agent, 'POST', '/read', 'y'.repeat(100_000))).toMatchObject({ status: 200, connection: 'keep-alive', body: 'read 100000' });
      // The 413 leaves most of the 2 MB unread: the server says it will close, and the next request gets a new connection.
      expect(await request(port, agent, 'POST', '/early', 'z'.repeat(2 * 1024 * 1024))).toMatchObject({ status: 413, connection: 'close' });
      expect(await request(port, agent, 'GET', '/ok')).toMatchObject({ status: 200, connection: 'keep-alive' });
    } finally {
      agent.destroy();
    }
  });
});

describe('drain', () => {
  it('closes idle keep-alive connections, answers a connection not used yet and a request in flight with Connection: close, and refuses new ones', async () => {
    const { server, port } = await start();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      // An idle keep-alive connection.
      await request(port, agent, 'GET', '/ok');
      const idle = (agent.freeSockets[Object.keys(agent.freeSockets)[0] as string] ?? [])[0] as net.Socket;
      const idleClosed = new Promise<void>((resolve) => idle.once('close', () => resolve()));
      // A connection that has not sent its request yet, and one whose request is in flight.
      const unused = net.connect({ host: '127.0.0.1', port });
      await new Promise<void>((resolve) => unused.once('connect', () => resolve()));
      const inFlightAgent = new http.Agent({ keepAlive: true });
      const inFlight = request(port, inFlightAgent, 'GET', '/slow');
      const inFlightReceived = new Promise<void>((resolve) => {
        const onRequest = (message: unknown) => {
          if ((message as { request: { url: string } }).request.url === '/slow') {
            unsubscribe('http.server.request.start', onRequest);
            resolve();
          }
        };
        subscribe('http.server.request.start', onRequest);
      });
      await inFlightReceived;

      await server.stopListening();
      expect(await connectOutcome(port)).toBe('refused');
      const drained = server.drain();
      await idleClosed;

      const unusedAnswer = readUntilClosed(unused);
      unused.write('GET /ok HTTP/1.1\r\nHost: x\r\n\r\n');
      const raw = await unusedAnswer;
      expect(raw).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(raw).toMatch(/\r\nConnection: close\r\n/i);

      release();
      expect(await inFlight).toMatchObject({ status: 200, connection: 'close', body: 'slow' });
      await drained;
      inFlightAgent.destroy();
    } finally {
      agent.destroy();
    }
  });

  it('lets an answer that is written but not yet flushed reach a slow reader whole', async () => {
    const { server, port } = await start();
    // The response object of GET /big, to see when the server has ended it.
    let response: ServerResponse | undefined;
    const onRequest = (message: unknown) => {
      response = (message as { response: ServerResponse }).response;
    };
    subscribe('http.server.request.start', onRequest);
    try {
      const result = new Promise<{ received: number; error: string | null }>((resolve) => {
        const req = http.request({ host: '127.0.0.1', port, path: '/big', agent: false }, (res) => {
          let received = 0;
          res.pause();
          // Read nothing until the server has ended its answer and begun to drain: most of 8 MB waits in its buffers.
          const waitForEnd = setInterval(() => {
            if (!response?.writableEnded) return;
            clearInterval(waitForEnd);
            void server.drain();
            res.on('data', (chunk: Buffer) => (received += chunk.length));
            res.on('end', () => resolve({ received, error: null }));
            res.on('error', (err: NodeJS.ErrnoException) => resolve({ received, error: err.code ?? err.message }));
            res.resume();
          }, 5);
        });
        req.on('error', (err: NodeJS.ErrnoException) => resolve({ received: -1, error: err.code ?? err.message }));
        req.end();
      });
      expect(await result).toEqual({ received: BIG.length, error: null });
    } finally {
      unsubscribe('http.server.request.start', onRequest);
    }
  });

  it('closes a kept-alive connection once an answer it began before the drain is through', async () => {
    // A keep-alive timeout longer than the test's: only the drain can close this connection in time.
    const { server, port } = await start(60_000);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const answer = await new Promise<{ connection: string | undefined; received: number; closed: Promise<void> }>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, path: '/big', agent }, (res) => {
          // The headers, saying keep-alive, are out; the drain starts while most of the body is still to come.
          const closed = new Promise<void>((done) => req.socket?.once('close', () => done()));
          void server.drain();
          let received = 0;
          res.on('data', (chunk: Buffer) => (received += chunk.length));
          res.on('end', () => resolve({ connection: res.headers.connection, received, closed }));
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end();
      });
      expect(answer.connection).toBe('keep-alive');
      expect(answer.received).toBe(BIG.length);
      await answer.closed;
      await server.drain();
    } finally {
      agent.destroy();
    }
  });

  it('answers the connections still queued in the kernel when it stops listening', async () => {
    const { server, port } = await start();
    const flag = join(tmp, 'connected');
    // Another process opens 8 connections and sends a request on each, while this one's event loop is
    // blocked: the kernel completes the connections and queues them on the listening socket.
    const client = spawn(
      process.execPath,
      [
        '-e',
        `
        const net = require('node:net');
        const fs = require('node:fs');
        const answers = [];
        let written = 0;
        for (let i = 0; i < 8; i++) {
          const socket = net.connect({ host: '127.0.0.1', port: ${port} });
          let text = '';
          socket.on('connect', () => socket.write('GET /ok HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n', () => { if (++written === 8) fs.writeFileSync(${JSON.stringify(flag)}, ''); }));
          socket.on('data', (d) => (text += d));
          socket.on('error', (e) => answers.push('error ' + e.code));
          socket.on('close', () => { answers.push(text.split('\\r\\n')[0]); if (answers.length === 8) console.log(JSON.stringify(answers)); });
        }
        `,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    client.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<void>((resolve) => client.once('exit', () => resolve()));
    const giveUp = Date.now() + 15_000;
    while (!existsSync(flag) && Date.now() < giveUp) {
      // Busy on purpose: nothing is accepted while this runs.
    }
    expect(existsSync(flag)).toBe(true);
    const drained = server.drain();
    await exited;
    await drained;
    expect(JSON.parse(out)).toEqual(Array.from({ length: 8 }, () => 'HTTP/1.1 200 OK'));
  });
});
