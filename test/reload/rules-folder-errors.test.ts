/**
 * What cannot be read in a rules folder is a rule error naming the entry
 * relative to the folder (never a server path), and the last good rules keep
 * serving: a broken symlink must not make a placement vanish from a load that
 * reports success. Real symlinks and files in a temporary folder.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/observability/logger.js';
import { createRuleRegistry, type RuleRegistry } from '../../src/reload/registry.js';

const FIXTURE = 'test/fixtures/minimal-rules';
let dir: string;
let registry: RuleRegistry;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nextbest-folder-errors-'));
  cpSync(FIXTURE, dir, { recursive: true });
  writeFileSync(join(dir, 'placements', 'footer.json'), JSON.stringify({ placement: 'footer', fallback: ['offer-10'], rules: [] }));
  registry = createRuleRegistry({ dir, logger: silentLogger });
  expect((await registry.reload()).ok).toBe(true);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Reloads, expecting a failure whose only error is this one; the placements served stay as they were. */
async function expectRejected(file: string, message: RegExp): Promise<void> {
  const good = registry.current;
  const outcome = await registry.reload();
  expect(outcome.ok).toBe(false);
  expect(outcome.errors).toEqual([{ file, path: '$', message: expect.stringMatching(message) }]);
  for (const error of outcome.errors) expect(error.message).not.toContain(dir);
  expect(registry.current).toBe(good);
  expect(registry.status().placements).toEqual(['footer', 'home-hero']);
}

describe('entries of the rules folder that cannot be read', () => {
  it('a symlink loop is an error naming the file, with no server path', async () => {
    unlinkSync(join(dir, 'placements', 'footer.json'));
    symlinkSync('footer.json', join(dir, 'placements', 'footer.json'));
    await expectRejected('placements/footer.json', /symbolic link that loops/);
  });

  it('a dangling symlink is an error naming the file and where it points, not a placement silently dropped', async () => {
    unlinkSync(join(dir, 'placements', 'footer.json'));
    symlinkSync('../drafts/footer.json', join(dir, 'placements', 'footer.json'));
    await expectRejected('placements/footer.json', /^is a symbolic link to "\.\.\/drafts\/footer\.json" that does not exist$/);
  });

  it('a dangling symlink with an absolute target does not repeat the server path', async () => {
    unlinkSync(join(dir, 'catalog.json'));
    symlinkSync(join(dir, 'gone', 'catalog.json'), join(dir, 'catalog.json'));
    await expectRejected('catalog.json', /^is a symbolic link to a file that does not exist$/);
  });

  it('a placements folder that is a dangling symlink is an error, not a folder with no placements', async () => {
    rmSync(join(dir, 'placements'), { recursive: true });
    symlinkSync('..data/placements', join(dir, 'placements'));
    await expectRejected('placements', /symbolic link to "\.\.data\/placements" that does not exist/);
  });

  it('recovers once the link is fixed', async () => {
    const footer = readFileSync(join(dir, 'placements', 'footer.json'), 'utf8');
    unlinkSync(join(dir, 'placements', 'footer.json'));
    symlinkSync('missing.json', join(dir, 'placements', 'footer.json'));
    expect((await registry.reload()).ok).toBe(false);
    mkdirSync(join(dir, 'shared'));
    writeFileSync(join(dir, 'shared', 'footer.json'), footer);
    unlinkSync(join(dir, 'placements', 'footer.json'));
    symlinkSync('../shared/footer.json', join(dir, 'placements', 'footer.json'));
    expect(await registry.reload()).toMatchObject({ ok: true, errors: [] });
  });
});

describe('file size limit', () => {
  it('a file over the limit is not read: an error naming the file, its size and the variable', async () => {
    const limited = createRuleRegistry({ dir, logger: silentLogger, limits: { maxFileBytes: 2048, maxRulesPerPlacement: 1000 } });
    expect((await limited.reload()).ok).toBe(true);
    writeFileSync(join(dir, 'placements', 'footer.json'), JSON.stringify({ placement: 'footer', fallback: ['offer-10'], rules: [], padding: 'x'.repeat(3000) }));
    const outcome = await limited.reload();
    expect(outcome.errors).toEqual([
      { file: 'placements/footer.json', path: '$', message: 'is 3 KB; a rule file may be at most 2 KB (RULES_MAX_FILE_BYTES)' },
    ]);
    expect(limited.status().placements).toEqual(['footer', 'home-hero']);
  });

  it('rule tests are not read when rules load, so a large one cannot fail a load', async () => {
    const limited = createRuleRegistry({ dir, logger: silentLogger, limits: { maxFileBytes: 2048, maxRulesPerPlacement: 1000 } });
    mkdirSync(join(dir, 'tests'));
    writeFileSync(join(dir, 'tests', 'home-hero.json'), JSON.stringify({ cases: [], padding: 'x'.repeat(3000) }));
    expect(await limited.reload()).toMatchObject({ ok: true, errors: [] });
  });

  it('a catalog over the limit is that one error, not also "catalog.json is missing"', async () => {
    const limited = createRuleRegistry({ dir, logger: silentLogger, limits: { maxFileBytes: 1024, maxRulesPerPlacement: 1000 } });
    const catalog = JSON.parse(readFileSync(join(dir, 'catalog.json'), 'utf8')) as { items: Array<Record<string, unknown>> };
    for (const item of catalog.items) item.title = 'A long title that makes the catalog grow past the limit.'.repeat(30);
    writeFileSync(join(dir, 'catalog.json'), JSON.stringify(catalog));
    const outcome = await limited.reload();
    expect(outcome.errors).toEqual([{ file: 'catalog.json', path: '$', message: expect.stringContaining('(RULES_MAX_FILE_BYTES)') }]);
  });
});
