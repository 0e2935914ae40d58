/**
 * Served counts live in each process until they are flushed (every 10 s, and
 * on a graceful shutdown): the decisions a replica made before SIGTERM are in
 * the report after a restart, although the flush interval never came.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, expect, it } from 'vitest';
import { listening, start, type Child } from './spawn.js';

const MAIN = 'src/main.ts';
const tmp = mkdtempSync(join(tmpdir(), 'nextbest-report-flush-'));
const children: Child[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

it('sends the served counts to the store on SIGTERM, so a restarted service reports them', async () => {
  const env = { PORT: '0', HOST: '127.0.0.1', STORE: 'sqlite', SQLITE_PATH: join(tmp, 'nextbest.db'), RULES_DIR: 'test/fixtures/minimal-rules', LOG_LEVEL: 'warn' };
  const first = start(MAIN, [], { ...env, LOG_LEVEL: 'info' });
  children.push(first);
  const url = await listening(first);
  for (let i = 0; i < 3; i++) expect((await fetch(`${url}/v1/decisions/c-${i}?placement=home-hero`)).status).toBe(200);
  first.process.kill('SIGTERM');
  expect(await first.exited).toBe(0);

  const second = start(MAIN, [], { ...env, LOG_LEVEL: 'info' });
  children.push(second);
  const url2 = await listening(second);
  const report = (await (await fetch(`${url2}/v1/reports/placements/home-hero`)).json()) as { rows: Array<{ served: number }> };
  expect(report.rows.reduce((sum, row) => sum + row.served, 0)).toBe(3);
  second.process.kill('SIGTERM');
  expect(await second.exited).toBe(0);
});
