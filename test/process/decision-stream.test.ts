/**
 * POST /v1/decisions/stream on a real socket: the answer to a line arrives
 * while the request body is still open, and a client that goes away stops
 * the work (the service's decision count stops growing).
 */
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_RULES_DIR } from '../http/harness.js';
import { listening, start, type Child } from './spawn.js';

const tmp = mkdtempSync(join(tmpdir(), 'nextbest-stream-'));
let service: Child;
let url: string;

beforeAll(async () => {
  service = start('src/main.ts', [], { RULES_DIR: FIXTURE_RULES_DIR, STORE: 'sqlite', SQLITE_PATH: join(tmp, 'p.db'), PORT: '0', HOST: '127.0.0.1' });
  url = await listening(service);
});
afterAll(async () => {
  service.process.kill('SIGTERM');
  await service.exited;
  rmSync(tmp, { recursive: true, force: true });
});

const line = (customerId: string) => `${JSON.stringify({ customerId, placements: ['home-hero'] })}\n`;

/** Opens a stream; answer lines are handed to `onLine` as they arrive. */
function openStream(onLine: (value: any) => void) {
  const request = http.request(`${url}/v1/decisions/stream`, { method: 'POST', headers: { 'Content-Type': 'application/x-ndjson' } });
  const ended = new Promise<number>((resolve, reject) => {
    request.on('response', (res) => {
      let buffered = '';
      res.setEncoding('utf8');
      res.on('data', (text: string) => {
        buffered += text;
        for (let at = buffered.indexOf('\n'); at >= 0; at = buffered.indexOf('\n')) {
          onLine(JSON.parse(buffered.slice(0, at)));
          buffered = buffered.slice(at + 1);
        }
      });
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    request.on('error', reject);
  });
  return { request, ended };
}

async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function decisionsTotal(): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^nextbest_decisions_total(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? NaN);
}

describe('the decision stream on a real socket', () => {
  it('answers each line while the body is still open', async () => {
    const answers: any[] = [];
    const { request, ended } = openStream((value) => answers.push(value));
    request.write(line('c-1'));
    await until(() => answers.length === 1, 'the first answer');
    request.write(line('c-2'));
    await until(() => answers.length === 2, 'the second answer');
    request.end(line('c-3'));
    expect(await ended).toBe(200);
    expect(answers.map((a) => a.customerId)).toEqual(['c-1', 'c-2', 'c-3']);
  });

  it('stops deciding when the client goes away', async () => {
    let answered = 0;
    const { request, ended } = openStream(() => answered++);
    ended.catch(() => undefined);
    let n = 0;
    const write = (): void => {
      while (!request.destroyed) {
        let text = '';
        for (let i = 0; i < 200; i++) text += line(`c-${n++}`);
        if (!request.write(text)) {
          request.once('drain', write);
          return;
        }
      }
    };
    write();
    await until(() => answered >= 2000, '2000 answers');
    request.destroy();
    // Once the service has noticed, its count of decisions holds still.
    let last = -1;
    await until(async () => {
      const now = await decisionsTotal();
      const still = now === last;
      last = now;
      return still;
    }, 'the decisions to stop');
    await new Promise((r) => setTimeout(r, 300));
    expect(await decisionsTotal()).toBe(last);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });
});
