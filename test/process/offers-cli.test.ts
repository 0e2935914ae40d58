/**
 * `nextbest offers` as a marketer runs it (contract section 12): the real CLI
 * in a child process over a SQLite store, locally and through a running
 * service, with CSV edge cases, NDJSON through standard input and output,
 * resuming after a kill, and its terminal and non-terminal progress.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteStore } from '../../src/profiles/sqlite-store.js';
import { FIXTURE_RULES_DIR } from '../http/harness.js';
import { listening, ROOT, run, start, type Child } from './spawn.js';

const CLI = 'src/cli/main.ts';
const tmp = mkdtempSync(join(tmpdir(), 'nextbest-offers-'));
const sqlitePath = join(tmp, 'profiles.db');
const ENV = { RULES_DIR: FIXTURE_RULES_DIR, STORE: 'sqlite', SQLITE_PATH: sqlitePath, NEXTBEST_PROGRESS: 'summary' };
const COLUMNS = ['customerId', 'placement', 'position', 'item', 'rule', 'fallback', 'decisionId', 'kind', 'title', 'url', 'code', 'channels', 'activeUntil'];

const file = (name: string, text?: string | Buffer): string => {
  const path = join(tmp, name);
  if (text !== undefined) writeFileSync(path, text);
  return path;
};
const csvRows = (path: string): string[][] => parse(readFileSync(path), { bom: true }) as string[][];
const errorLines = (path: string): any[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

beforeAll(async () => {
  const store = createSqliteStore({ path: sqlitePath, retentionDays: 365, maxTouchpointsPerProfile: 1000 });
  await store.patch('c-gold', { attributes: { tier: 'gold', sidebar: true } }, Date.now());
  await store.close();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('nextbest offers', () => {
  it('reads a CSV with a BOM, quotes, commas and line breaks in fields, CRLF and blank lines; writes one row per item; failed rows go to --errors with their line', async () => {
    const input = file(
      'edge.csv',
      Buffer.concat([
        Buffer.from([0xef, 0xbb, 0xbf]),
        Buffer.from(
          'customerId,device,note\r\n' + // 1
            'c-gold,mobile,"gold, with a comma"\r\n' + // 2
            '\r\n' + // 3: blank
            'c-new,"desk\ntop","two\r\nlines"\n' + // 4-6
            'c-short,mobile\n' + // 7: too few fields
            '"a*b",mobile,x\n' + // 8: bad id
            '"c-""q",,\n', // 9: a quote in the id (invalid) and empty cells
        ),
      ]),
    );
    const out = file('edge-out.csv');
    const errors = file('edge-errors.ndjson');
    const result = await run(CLI, ['offers', '-p', 'home-hero', '-p', 'email-banner', '--in', input, '--out', out, '--errors', errors], ENV);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^nextbest offers: 5 recipients → .*edge-out\.csv: \d+ rows, 3 failed/);
    const [header, ...rows] = csvRows(out);
    expect(header).toEqual(COLUMNS);
    const at = (r: string[], column: string) => r[COLUMNS.indexOf(column)];
    // The device column reached the context: the mobile hero for the gold customer only.
    const heroes = rows.filter((r) => at(r, 'placement') === 'home-hero');
    expect(heroes.map((r) => [at(r, 'customerId'), at(r, 'position'), at(r, 'item')])).toEqual([
      ['c-gold', '1', 'hero-mobile'],
      ['c-new', '1', 'hero-welcome'],
    ]);
    expect(new Set(rows.map((r) => at(r, 'customerId')))).toEqual(new Set(['c-gold', 'c-new']));
    for (const row of rows) {
      expect(row).toHaveLength(COLUMNS.length);
      expect(['true', 'false']).toContain(at(row, 'fallback'));
      expect(at(row, 'decisionId')).not.toBe('');
    }
    const mobile = heroes[0] as string[];
    expect(at(mobile, 'title')).toBe('Get the app');
    expect(at(mobile, 'url')).toBe('');
    expect(errorLines(errors)).toEqual([
      { line: 7, customerId: 'c-short', status: 400, title: 'Invalid CSV row', detail: expect.stringContaining('2 fields') },
      { line: 8, customerId: 'a*b', status: 400, title: 'Invalid request', detail: expect.stringContaining('$.customerId') },
      { line: 9, customerId: 'c-"q', status: 400, title: 'Invalid request', detail: expect.stringContaining('$.customerId') },
    ]);
    expect(existsSync(`${out}.progress`)).toBe(false);
  });

  it('writes lists and objects of the catalog as JSON cells', async () => {
    const out = file('lists.csv');
    const result = await run(CLI, ['offers', '-p', 'sidebar', '--in', file('lists-in.csv', 'customerId\nc-gold\n'), '--out', out], ENV);
    expect(result.code, result.stderr).toBe(0);
    const [header, ...rows] = csvRows(out);
    const channels = rows.map((r) => r[(header as string[]).indexOf('channels')]).filter((c) => c !== '');
    for (const cell of channels) expect(Array.isArray(JSON.parse(cell as string))).toBe(true);
  });

  it('reads NDJSON requests from standard input and writes decisions to standard output, a bad line failing in its place', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'offers', '-p', 'home-hero', '--in', '-', '--out', '-'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...ENV },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(
      '{"customerId":"c-gold","context":{"device":"mobile"}}\n\n{"customerId":"c-2","placements":["email-banner"]}\nnot json\n{"customerId":"c-3","placements":["nope"]}\n',
    );
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code, stderr).toBe(1);
    const decisions = stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(decisions.map((d) => [d.customerId, Object.keys(d.placements)])).toEqual([
      ['c-gold', ['home-hero']],
      ['c-2', ['email-banner']],
    ]);
    expect(decisions[0].placements['home-hero'].items[0].id).toBe('hero-mobile');
    expect(stderr).toContain('"line":4');
    expect(stderr).toContain('"line":5');
    expect(stderr).toContain('Unknown placement');
  });

  it('answers --help, and refuses bad arguments with exit 2', async () => {
    const help = await run(CLI, ['offers', '--help'], {});
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--resume');
    for (const args of [['--in', 'x.csv'], ['-p', 'home-hero', '--in', 'x.csv', '--out', 'y.txt'], ['-p', 'home-hero', '--in', 'x.csv', '--out', '-', '--resume'], ['--bogus']]) {
      const result = await run(CLI, ['offers', ...args], ENV);
      expect(result.code, args.join(' ')).toBe(2);
    }
  });

  it('stops with exit 1 naming the file and JSON path of a rule mistake', async () => {
    const rulesDir = join(tmp, 'broken-rules');
    cpSync(FIXTURE_RULES_DIR, rulesDir, { recursive: true });
    const catalog = JSON.parse(readFileSync(join(rulesDir, 'catalog.json'), 'utf8')) as { items: Array<Record<string, unknown>> };
    (catalog.items[0] as Record<string, unknown>).id = 42;
    writeFileSync(join(rulesDir, 'catalog.json'), JSON.stringify(catalog));
    const input = file('broken-rules.csv', 'customerId\nc-gold\n');
    const result = await run(CLI, ['offers', '-p', 'home-hero', '--in', input, '--out', file('broken-rules-out.csv')], { ...ENV, RULES_DIR: rulesDir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`the rules in ${rulesDir} are invalid`);
    expect(result.stderr).toContain('catalog.json: $.items[0].id: must be a string');
  });

  describe('through a running service (--url)', () => {
    let service: Child;
    let url: string;
    beforeAll(async () => {
      // On the same SQLite file: the offers command reads it while the service runs.
      service = start('src/main.ts', [], { ...ENV, PORT: '0', HOST: '127.0.0.1', API_KEYS: 'sender:decide,tracker:ingest' });
      url = await listening(service);
    });
    afterAll(async () => {
      service.process.kill('SIGTERM');
      await service.exited;
    });

    it('writes the same columns and rows as local mode, and says why when the key is refused', async () => {
      const input = file('both.csv', 'customerId,device\nc-gold,mobile\nc-new,desktop\nc-gold,\n');
      const local = file('local.csv');
      const remote = file('remote.csv');
      const placements = ['-p', 'home-hero', '-p', 'sidebar', '-p', 'email-banner'];
      expect((await run(CLI, ['offers', ...placements, '--in', input, '--out', local], ENV)).code).toBe(0);
      const viaUrl = await run(CLI, ['offers', ...placements, '--in', input, '--out', remote, '--url', url, '--api-key', 'sender'], ENV);
      expect(viaUrl.code, viaUrl.stderr).toBe(0);
      const withoutIds = (rows: string[][]) => rows.map((r) => r.filter((_, i) => i !== COLUMNS.indexOf('decisionId')));
      expect(withoutIds(csvRows(remote))).toEqual(withoutIds(csvRows(local)));
      const refused = await run(CLI, ['offers', ...placements, '--in', input, '--out', file('refused.csv'), '--url', url, '--api-key', 'wrong'], ENV);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('answered 401');
    });

    it('makes decisions whose ids the service accepts outcomes for, in local mode and through --url', async () => {
      const input = file('outcomes.csv', 'customerId,device\nc-gold,mobile\n');
      for (const [name, extra] of [['local-ids.csv', []], ['remote-ids.csv', ['--url', url, '--api-key', 'sender']]] as const) {
        const out = file(name);
        const result = await run(CLI, ['offers', '-p', 'home-hero', '--in', input, '--out', out, ...extra], ENV);
        expect(result.code, result.stderr).toBe(0);
        const [, row] = csvRows(out);
        const at = (column: string) => (row as string[])[COLUMNS.indexOf(column)];
        // The placement name and item id by their number in the name list the service shares: not in full.
        const payload = Buffer.from(at('decisionId') as string, 'base64url').toString('latin1');
        expect(payload, name).not.toContain('home-hero');
        expect(payload, name).not.toContain(at('item'));
        const outcome = { decisionId: at('decisionId'), customerId: 'c-gold', placement: 'home-hero', item: at('item'), kind: 'impression' };
        const res = await fetch(`${url}/v1/outcomes`, { method: 'POST', headers: { 'x-api-key': 'tracker', 'content-type': 'application/json' }, body: JSON.stringify(outcome) });
        expect(res.status, `${name}: ${await res.clone().text()}`).toBe(202);
        expect(await res.json()).toEqual({ accepted: 1, duplicates: 0 });
      }
    });
  });

  it('resumes a run killed midway without repeating or losing a recipient', async () => {
    const count = 20_000;
    let text = 'customerId,device\n';
    for (let i = 0; i < count; i++) text += `c-${i},${i % 3 === 0 ? 'mobile' : 'desktop'}\n`;
    const input = file('many.csv', text);
    const out = file('many.ndjson');
    const args = ['offers', '-p', 'home-hero', '-p', 'sidebar', '--in', input, '--out', out];
    const first = start(CLI, args, ENV);
    // Killed once a checkpoint says part of the list is written.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const progress = existsSync(`${out}.progress`) ? readFileSync(`${out}.progress`, 'utf8').trim().split('\n') : [];
      const last = progress.length > 1 ? (JSON.parse(progress.at(-1) as string) as { recipients: number }) : null;
      if (last && last.recipients > 0) break;
      if (first.process.exitCode !== null) throw new Error(`offers finished before it could be killed: ${first.stderr()}`);
      if (Date.now() > deadline) throw new Error('no checkpoint within a minute');
      await new Promise((r) => setTimeout(r, 20));
    }
    first.process.kill('SIGKILL');
    await first.exited;
    const resumed = await run(CLI, [...args, '--resume'], ENV);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resumed after [\d,]+\)/);
    const ids = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { customerId: string }).customerId);
    expect(ids).toEqual(Array.from({ length: count }, (_, i) => `c-${i}`));
    expect(existsSync(`${out}.progress`)).toBe(false);
    // A finished run has nothing left to resume.
    expect((await run(CLI, [...args, '--resume'], ENV)).code).toBe(2);
  }, 120_000);

  it('draws a progress bar on a terminal, and writes one summary line otherwise', async () => {
    let text = 'customerId\n';
    for (let i = 0; i < 3000; i++) text += `c-${i}\n`;
    const input = file('bar.csv', text);
    const bar = await run(CLI, ['offers', '-p', 'sidebar', '--in', input, '--out', file('bar-out.csv')], { ...ENV, NEXTBEST_PROGRESS: 'bar' });
    expect(bar.code, bar.stderr).toBe(0);
    // Redrawn in place: done, the total, the share, the rate; then cleared for the summary.
    expect(bar.stderr).toMatch(/\r\[[█░]+\] [\d,]+\/3,000 \d+% · [\d,]+ recipients\/s/);
    expect(bar.stderr).toMatch(/\r\x1b\[Knextbest offers: 3,000 recipients/);
    const plain = await run(CLI, ['offers', '-p', 'sidebar', '--in', input, '--out', file('plain-out.csv')], ENV);
    expect(plain.stderr).not.toContain('\r');
    expect(plain.stderr.trim().split('\n')).toHaveLength(1);
    expect(plain.stderr).toMatch(/^nextbest offers: 3,000 recipients → .*: [\d,]+ rows; [\d.]+ s, [\d,]+ recipients\/s, from the rules in /);
  });
});
