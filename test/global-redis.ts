/**
 * Vitest global set-up: the Redis the tests use. A server answering on
 * 127.0.0.1:6379 (or at TEST_REDIS_URL) is used as it is; otherwise, when
 * redis-server is installed, one is started on a free port for this run, with
 * no persistence, and stopped afterwards. Without either, the run stops with
 * a message saying what to install: the Redis tests never skip themselves.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

let server: ChildProcess | null = null;

export async function setup(project: TestProject): Promise<void> {
  const configured = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
  if (await answersPing(configured)) {
    project.provide('redisUrl', configured);
    return;
  }
  if (process.env.TEST_REDIS_URL) throw new Error(`TEST_REDIS_URL is ${configured}, but no Redis answers there`);
  if (spawnSync('redis-server', ['--version']).error) {
    throw new Error(
      `the tests need Redis: nothing answers at ${configured}, and redis-server is not installed to start one. ` +
        'Install it (Debian/Ubuntu: apt-get install redis-server) or point TEST_REDIS_URL at a Redis server.',
    );
  }
  const port = await freePort();
  server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 200 && !(await answersPing(url)); attempt++) await new Promise((resolve) => setTimeout(resolve, 25));
  if (!(await answersPing(url))) throw new Error(`started redis-server on port ${port}, but it does not answer`);
  project.provide('redisUrl', url);
}

export async function teardown(): Promise<void> {
  server?.kill('SIGKILL');
  server = null;
}

function answersPing(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port || 6379), hostname);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    // A password-protected server answers -NOAUTH: it is there, and the URL carries the password.
    socket.once('data', (data) => done(data.toString().startsWith('+PONG') || data.toString().startsWith('-NOAUTH')));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
