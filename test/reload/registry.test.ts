import { cpSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/observability/logger.js';
import { createRuleRegistry, type RuleRegistry } from '../../src/reload/registry.js';
import { folderFingerprint, watchRulesDir, type RulesWatcher } from '../../src/reload/watcher.js';
import { recordingLogger } from './recording-logger.js';

const FIXTURE = 'test/fixtures/minimal-rules';
let dir: string;
let registry: RuleRegistry;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nextbest-reload-'));
  cpSync(FIXTURE, dir, { recursive: true });
  registry = createRuleRegistry({ dir, logger: silentLogger });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const heroFile = () => join(dir, 'placements', 'home-hero.json');

function editHero(edit: (hero: { rules: Array<{ name: string }>; fallback: string[] }) => void): void {
  const hero = JSON.parse(readFileSync(heroFile(), 'utf8'));
  edit(hero);
  writeFileSync(heroFile(), JSON.stringify(hero));
}

describe('rule registry', () => {
  it('is empty until the first good load, then serves it', async () => {
    expect(registry.current).toBeNull();
    const outcome = await registry.reload();
    expect(outcome).toMatchObject({ ok: true, changed: true });
    expect([...(registry.current?.placements.keys() ?? [])]).toEqual(['home-hero']);
    expect(registry.status()).toMatchObject({ errors: [], placements: ['home-hero'], reloads: { success: 1, failure: 0 } });
  });

  it('derives the version from content: unchanged files keep it, any edit changes it', async () => {
    await registry.reload();
    const first = registry.current?.version;
    expect((await registry.reload()).changed).toBe(false);
    expect(registry.current?.version).toBe(first);
    editHero((hero) => hero.fallback.push('offer-10'));
    expect((await registry.reload()).changed).toBe(true);
    expect(registry.current?.version).not.toBe(first);
  });

  it('keeps the last good rules serving when a reload fails, and reports the errors until a good one', async () => {
    await registry.reload();
    const good = registry.current;
    writeFileSync(heroFile(), '{ "placement": "home-hero", "rules": [ }');
    const failed = await registry.reload();
    expect(failed.ok).toBe(false);
    expect(registry.current).toBe(good);
    expect(registry.status().errors).toEqual([
      expect.objectContaining({ file: 'placements/home-hero.json', path: '$', message: expect.stringContaining('line 1') }),
    ]);
    expect(registry.status().reloads).toEqual({ success: 1, failure: 1 });

    cpSync(join(FIXTURE, 'placements', 'home-hero.json'), heroFile());
    expect((await registry.reload()).ok).toBe(true);
    expect(registry.status().errors).toEqual([]);
  });

  it('never empties the rules when files disappear', async () => {
    await registry.reload();
    const good = registry.current;
    unlinkSync(join(dir, 'catalog.json'));
    expect((await registry.reload()).ok).toBe(false);
    expect(registry.current).toBe(good);
    rmSync(dir, { recursive: true, force: true });
    expect((await registry.reload()).ok).toBe(false);
    expect(registry.current).toBe(good);
  });

  it('reloadIfChanged loads a change once: asked again for the same files, it loads, logs and counts nothing', async () => {
    const { logger, lines } = recordingLogger();
    registry = createRuleRegistry({ dir, logger });
    expect(await registry.reloadIfChanged()).toMatchObject({ ok: true, changed: true, skipped: false });
    expect(await registry.reloadIfChanged()).toMatchObject({ ok: true, changed: false, skipped: true });
    editHero((hero) => hero.fallback.push('offer-10'));
    expect(await registry.reloadIfChanged()).toMatchObject({ ok: true, changed: true, skipped: false });
    expect(await registry.reloadIfChanged()).toMatchObject({ skipped: true });
    expect(registry.status().reloads).toEqual({ success: 2, failure: 0 });
    expect(lines.filter((l) => l.message === 'rules loaded')).toHaveLength(2);

    // A failed load is not repeated either: one broken save, one error line.
    writeFileSync(heroFile(), '{ "placement": ');
    expect(await registry.reloadIfChanged()).toMatchObject({ ok: false, skipped: false });
    expect(await registry.reloadIfChanged()).toMatchObject({ ok: false, skipped: true, errors: [expect.objectContaining({ file: 'placements/home-hero.json' })] });
    expect(registry.status().reloads).toEqual({ success: 2, failure: 1 });
    expect(lines.filter((l) => l.level === 'error')).toHaveLength(1);
  });

  it('reload() loads whatever the files hold, changed or not (start-up and SIGHUP)', async () => {
    await registry.reload();
    expect(await registry.reload()).toMatchObject({ ok: true, skipped: false });
    expect(registry.status().reloads).toEqual({ success: 2, failure: 0 });
  });

  it('a file touched but not changed is not loaded again', async () => {
    await registry.reloadIfChanged();
    const hero = readFileSync(heroFile(), 'utf8');
    writeFileSync(heroFile(), hero);
    expect(await registry.reloadIfChanged()).toMatchObject({ skipped: true });
  });

  it('logs "rules recovered" with the version on a good load after a failed one, even to the same rules as before', async () => {
    const { logger, lines } = recordingLogger();
    registry = createRuleRegistry({ dir, logger });
    await registry.reloadIfChanged();
    const good = readFileSync(heroFile(), 'utf8');
    writeFileSync(heroFile(), '{ "placement": ');
    await registry.reloadIfChanged();
    writeFileSync(heroFile(), good);
    expect(await registry.reloadIfChanged()).toMatchObject({ ok: true, changed: false, skipped: false });
    expect(lines.map((l) => `${l.level} ${l.message}`)).toEqual([
      'info rules loaded',
      'error rules rejected; the last good rules keep serving',
      'info rules recovered',
    ]);
    expect(lines[2]?.fields).toMatchObject({ version: registry.current?.version, placements: ['home-hero'] });
  });

  it('says that no rules are loaded yet when the first load fails, rather than that the last good ones keep serving', async () => {
    const { logger, lines } = recordingLogger();
    registry = createRuleRegistry({ dir: join(dir, 'no-such-folder'), logger });
    expect(await registry.reload()).toMatchObject({ ok: false, errors: [expect.objectContaining({ file: '.', message: expect.stringContaining('does not exist') })] });
    expect(lines).toEqual([expect.objectContaining({ level: 'error', message: 'rules rejected; no rules are loaded yet, so none are served' })]);
  });

  it('tells onSwap each snapshot it swaps in, and only those', async () => {
    const swapped: string[] = [];
    const watched = createRuleRegistry({ dir, logger: silentLogger, onSwap: (snapshot) => swapped.push(snapshot.version) });
    await watched.reload();
    await watched.reload();
    writeFileSync(heroFile(), '{ "placement": "home-hero", "rules": [ }');
    await watched.reload();
    cpSync(join(FIXTURE, 'placements', 'home-hero.json'), heroFile());
    editHero((hero) => hero.fallback.push('offer-10'));
    await watched.reload();
    expect(swapped).toHaveLength(2);
    expect(swapped[1]).toBe(watched.current?.version);
    expect(swapped[0]).not.toBe(swapped[1]);
  });

  it('runs overlapping reload requests one after another and ends on the latest files', async () => {
    await registry.reload();
    const pending = [registry.reload(), registry.reload(), registry.reload()];
    editHero((hero) => hero.rules.push({ ...hero.rules[0], name: 'second' } as { name: string }));
    await Promise.all(pending);
    await registry.reload();
    expect(registry.current?.placements.get('home-hero')?.rules.map((r) => r.name)).toContain('second');
  });
});

describe('rules watcher', () => {
  let watcher: RulesWatcher | null = null;
  afterEach(() => watcher?.close());

  async function until(check: () => boolean, ms = 3000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!check()) {
      if (Date.now() > deadline) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('reloads after a file in placements/ is saved in place, and after a rename-save', async () => {
    await registry.reload();
    watcher = watchRulesDir({ dir, logger: silentLogger, onChange: () => void registry.reload(), debounceMs: 50 });
    const v1 = registry.current?.version;

    editHero((hero) => hero.fallback.push('offer-10'));
    await until(() => registry.current?.version !== v1);
    const v2 = registry.current?.version;

    const hero = JSON.parse(readFileSync(heroFile(), 'utf8'));
    hero.fallback = ['hero-welcome'];
    writeFileSync(`${heroFile()}.tmp`, JSON.stringify(hero));
    renameSync(`${heroFile()}.tmp`, heroFile());
    await until(() => registry.current?.version !== v2);
    expect(registry.current?.placements.get('home-hero')?.fallback).toEqual(['hero-welcome']);
  });

  it('picks up a new placement file', async () => {
    await registry.reload();
    watcher = watchRulesDir({ dir, logger: silentLogger, onChange: () => void registry.reload(), debounceMs: 50 });
    writeFileSync(join(dir, 'placements', 'footer.json'), JSON.stringify({ placement: 'footer', fallback: ['offer-10'], rules: [] }));
    await until(() => registry.current?.placements.has('footer') === true);
  });

  it('polls the files the loader reads and no others: not schemas/, other folders or hidden files', async () => {
    const before = await folderFingerprint(dir);
    mkdirSync(join(dir, 'schemas'));
    writeFileSync(join(dir, 'schemas', 'placement.schema.json'), '{}');
    mkdirSync(join(dir, 'drafts'));
    writeFileSync(join(dir, 'drafts', 'footer.json'), '{}');
    writeFileSync(join(dir, '.catalog.json.swp'), '{}');
    expect(await folderFingerprint(dir)).toBe(before);

    mkdirSync(join(dir, 'tests'), { recursive: true });
    writeFileSync(join(dir, 'tests', 'home-hero.json'), '{ "cases": [] }');
    expect(await folderFingerprint(dir)).not.toBe(before);
  });
});
