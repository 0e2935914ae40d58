import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listening, run, start } from './spawn.js';

const MAIN = 'src/main.ts';
const FIXTURE = 'test/fixtures/minimal-rules';
const tmp = mkdtempSync(join(tmpdir(), 'nextbest-process-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function rulesCopy(name: string): string {
  const dir = join(tmp, name);
  cpSync(FIXTURE, dir, { recursive: true });
  return dir;
}

describe('start-up', () => {
  it('exits 1 naming the variable when configuration is invalid', async () => {
    const result = await run(MAIN, [], { PORT: 'eighty', RULES_DIR: FIXTURE, STORE: 'memory' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('PORT');
    expect(result.stderr).toContain('"eighty"');
  });

  it('exits 1 listing every rule error with file and JSON path', async () => {
    const dir = rulesCopy('broken');
    writeFileSync(
      join(dir, 'placements', 'home-hero.json'),
      JSON.stringify({ placement: 'home-hero', rules: [{ name: 'r', conditions: { all: [] }, event: { type: 'serve', params: { items: ['nope'] } } }] }),
    );
    writeFileSync(join(dir, 'journey.json'), '{ "stages": ["a", }');
    const result = await run(MAIN, [], { PORT: '0', RULES_DIR: dir, STORE: 'memory' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('placements/home-hero.json: $.rules[0].event.params.items[0]: unknown item "nope"');
    expect(result.stderr).toMatch(/journey\.json: \$: malformed JSON: .*line 1/);
  });

  it('exits 1 when the rules folder does not exist', async () => {
    const result = await run(MAIN, [], { PORT: '0', RULES_DIR: join(tmp, 'missing'), STORE: 'memory' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('does not exist');
  });
});

describe('serving on SQLite', () => {
  it('creates the database folder, keeps acknowledged writes across a SIGTERM restart, and exits 0', async () => {
    const sqlitePath = join(tmp, 'nested', 'folder', 'profiles.db');
    const env = { PORT: '0', HOST: '127.0.0.1', RULES_DIR: FIXTURE, SQLITE_PATH: sqlitePath };

    const first = start(MAIN, [], env);
    const url = await listening(first);
    const ingest = await fetch(`${url}/v1/customers/c-1/touchpoints`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'tp-1', type: 'cart_add', channel: 'web' }),
    });
    expect(ingest.status).toBe(202);
    first.process.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.stdout()).toContain('"msg":"stopped"');

    const second = start(MAIN, [], env);
    const url2 = await listening(second);
    const profile = (await (await fetch(`${url2}/v1/customers/c-1`)).json()) as { touchpointCount: number; stage: string };
    expect(profile.touchpointCount).toBe(1);
    expect(profile.stage).toBe('purchase');
    const again = (await (
      await fetch(`${url2}/v1/customers/c-1/touchpoints`, {
        method: 'POST',
        body: JSON.stringify({ id: 'tp-1', type: 'cart_add', channel: 'web' }),
      })
    ).json()) as { accepted: number; duplicates: number };
    expect(again).toEqual({ accepted: 0, duplicates: 1, expired: 0 });
    second.process.kill('SIGINT');
    expect(await second.exited).toBe(0);
  });
});

describe('a profile store that does not answer at start-up', () => {
  it('says it is waiting for it, then serves degraded', async () => {
    // Nothing listens on port 1: the Redis store never connects.
    const child = start(MAIN, [], { PORT: '0', HOST: '127.0.0.1', RULES_DIR: FIXTURE, STORE: 'redis', REDIS_URL: 'redis://127.0.0.1:1' });
    try {
      await listening(child);
      const lines = child.stdout().split('\n');
      const waiting = lines.findIndex((l) => l.includes('the profile store does not answer yet; waiting up to 5 s before serving'));
      const listeningAt = lines.findIndex((l) => l.includes('"msg":"nextbest listening"'));
      expect(waiting).toBeGreaterThanOrEqual(0);
      expect(waiting).toBeLessThan(listeningAt);
      expect(lines.filter((l) => l.includes('waiting up to')).length).toBe(1);
    } finally {
      child.process.kill('SIGTERM');
      await child.exited;
    }
  });
});

describe('SIGHUP', () => {
  it('reloads the rules at once', async () => {
    const child = start(MAIN, [], { PORT: '0', HOST: '127.0.0.1', RULES_DIR: FIXTURE, STORE: 'memory', RULES_POLL_INTERVAL_MS: '0' });
    const url = await listening(child);
    const reloads = async () => ((await (await fetch(`${url}/v1/rules`)).json()) as { reloads: { success: number } }).reloads.success;
    expect(await reloads()).toBe(1);
    child.process.kill('SIGHUP');
    const deadline = Date.now() + 10_000;
    while ((await reloads()) < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await reloads()).toBe(2);
    // Log lines are written in batches (up to 100 ms later).
    while (!child.stdout().includes('SIGHUP: reloading rules') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(child.stdout()).toContain('SIGHUP: reloading rules');
    child.process.kill('SIGTERM');
    expect(await child.exited).toBe(0);
  });
});

describe('nextbest validate', () => {
  const CLI = 'src/cli/main.ts';

  it('exits 0 on a clean folder', async () => {
    const result = await run(CLI, ['validate', FIXTURE], {});
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('valid');
  });

  it('validates the example rules shipped in rules/', async () => {
    const result = await run(CLI, ['validate', 'rules'], {});
    expect(result.stdout).not.toMatch(/^(?!warning).*: \$/m);
    expect(result.code).toBe(0);
  });

  it('prints every error as file: path: message and exits 1', async () => {
    const dir = rulesCopy('validate-broken');
    writeFileSync(join(dir, 'catalog.json'), JSON.stringify({ items: [{ id: 'x', kind: 'banner' }], extra: true }));
    const result = await run(CLI, ['validate', dir], {});
    expect(result.code).toBe(1);
    const lines = result.stdout.split('\n');
    expect(lines).toContain('catalog.json: $.extra: unknown key');
    expect(lines.some((l) => l.startsWith('catalog.json: $.items[0].kind: '))).toBe(true);
  });

  it('judges the folder by the limits the service would apply, read from the same variables', async () => {
    const result = await run(CLI, ['validate', 'rules'], { RULES_MAX_FILE_BYTES: '8192', RULES_MAX_RULES_PER_PLACEMENT: '1' });
    expect(result.code).toBe(1);
    const lines = result.stdout.split('\n');
    expect(lines).toContainEqual(expect.stringMatching(/^catalog\.json: \$: is [\d.]+ KB; a rule file may be at most 8 KB \(RULES_MAX_FILE_BYTES\)$/));
    // Rule tests are not rules: validate neither reads nor limits them, as the service does not.
    expect(result.stdout).not.toContain('tests/');
    expect(lines).toContainEqual(expect.stringMatching(/^placements\/home-hero\.json: \$\.rules: has \d+ rules; at most 1 are allowed in one file \(RULES_MAX_RULES_PER_PLACEMENT\)$/));

    const invalid = await run(CLI, ['validate', 'rules'], { RULES_MAX_RULES_PER_PLACEMENT: 'lots' });
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain('RULES_MAX_RULES_PER_PLACEMENT: must be a whole number (got "lots")');
  });

  it('uses RULES_DIR when no folder is given', async () => {
    const result = await run(CLI, ['validate'], { RULES_DIR: join(tmp, 'nowhere') });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('nowhere');
  });
});

describe('nextbest help and version', () => {
  const CLI = 'src/cli/main.ts';
  const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;

  it.each([['--version'], ['-v'], ['version']])('%s prints the package version and exits 0', async (arg) => {
    const result = await run(CLI, [arg], {});
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`nextbest ${version}\n`);
  });

  it.each([['help'], ['--help'], ['-h']])('%s prints the usage, every command included, and exits 0', async (arg) => {
    const result = await run(CLI, [arg], {});
    expect(result.code).toBe(0);
    for (const command of ['serve', 'validate', 'test', 'schemas', 'help', 'version']) expect(result.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
  });

  it('prints the usage and exits 1 without a command', async () => {
    const result = await run(CLI, [], {});
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('usage: nextbest');
  });
});
