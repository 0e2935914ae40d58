/**
 * The ways rule files change in practice, each ending with the new rules
 * served (or, for a broken change, the old ones kept). Waits are generous
 * (these machines are shared); what is proven is the mechanism, e.g. that a
 * ConfigMap swap is seen through events alone, with polling off.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/app.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createMemoryStore } from '../../src/profiles/memory-store.js';
import { createRuleRegistry, type RuleRegistry } from '../../src/reload/registry.js';
import { watchRulesDir, type RulesWatcher } from '../../src/reload/watcher.js';
import { recordingLogger } from './recording-logger.js';

const FIXTURE = 'test/fixtures/minimal-rules';
const heroText = readFileSync(join(FIXTURE, 'placements', 'home-hero.json'), 'utf8');
const withFallback = (fallback: string[]): string => JSON.stringify({ ...JSON.parse(heroText), fallback });

let root: string;
let watcher: RulesWatcher | null = null;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'nextbest-watch-'));
});
afterEach(() => {
  watcher?.close();
  watcher = null;
  rmSync(root, { recursive: true, force: true });
});

const WAIT_MS = 5000;

async function until(check: () => boolean, ms = WAIT_MS): Promise<number> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - started;
}

async function watched(dir: string, pollMs: number): Promise<RuleRegistry> {
  const registry = createRuleRegistry({ dir, logger: silentLogger });
  expect((await registry.reload()).ok).toBe(true);
  watcher = watchRulesDir({ dir, logger: silentLogger, onChange: () => void registry.reload(), debounceMs: 50, pollMs });
  await new Promise((r) => setTimeout(r, 50));
  return registry;
}

const fallbackOf = (registry: RuleRegistry) => registry.current?.placements.get('home-hero')?.fallback;

/** A folder laid out as Kubernetes mounts a ConfigMap: files are symlinks into ..data, itself a symlink to a dated folder. */
function configMapFolder(dir: string, files: Record<string, string>, version: string): void {
  mkdirSync(join(dir, version), { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, version, name), text);
  symlinkSync(version, join(dir, '..data'));
  for (const name of Object.keys(files)) symlinkSync(join('..data', name), join(dir, name));
}

/** A ConfigMap update as the kubelet does it: a new dated folder, then one atomic rename of the ..data link. */
function configMapUpdate(dir: string, files: Record<string, string>, version: string, previous: string): void {
  mkdirSync(join(dir, version));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, version, name), text);
  symlinkSync(version, join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  rmSync(join(dir, previous), { recursive: true });
}

describe('watching the rules folder', () => {
  it('serves a ConfigMap update (the ..data symlink swap) on events alone', async () => {
    const dir = join(root, 'rules');
    mkdirSync(dir);
    configMapFolder(
      dir,
      { 'catalog.json': readFileSync(join(FIXTURE, 'catalog.json'), 'utf8'), 'journey.json': readFileSync(join(FIXTURE, 'journey.json'), 'utf8') },
      '..2026_11_23_10_00_00.1',
    );
    // ConfigMaps are flat, so placements come as a second ConfigMap mounted at placements/.
    configMapFolder(join(dir, 'placements'), { 'home-hero.json': heroText }, '..2026_11_23_10_00_00.2');
    const registry = await watched(dir, 0);
    expect(fallbackOf(registry)).toEqual(['hero-welcome']);

    configMapUpdate(join(dir, 'placements'), { 'home-hero.json': withFallback(['offer-10']) }, '..2026_11_23_10_05_00.3', '..2026_11_23_10_00_00.2');
    await until(() => fallbackOf(registry)?.[0] === 'offer-10');
  });

  it('keeps the last good rules when a needed file is deleted, and recovers when it is back', async () => {
    const dir = join(root, 'rules');
    cpSync(FIXTURE, dir, { recursive: true });
    const registry = await watched(dir, 0);
    const good = registry.current;
    const catalog = readFileSync(join(dir, 'catalog.json'), 'utf8');
    unlinkSync(join(dir, 'catalog.json'));
    await until(() => registry.status().errors.length > 0);
    expect(registry.current).toBe(good);
    expect(registry.status().errors[0]).toMatchObject({ file: 'catalog.json' });
    writeFileSync(join(dir, 'catalog.json'), catalog);
    await until(() => registry.status().errors.length === 0);
  });

  it('drops a placement whose file is deleted', async () => {
    const dir = join(root, 'rules');
    cpSync(FIXTURE, dir, { recursive: true });
    writeFileSync(join(dir, 'placements', 'footer.json'), JSON.stringify({ placement: 'footer', fallback: ['offer-10'], rules: [] }));
    const registry = await watched(dir, 0);
    expect(registry.current?.placements.has('footer')).toBe(true);
    unlinkSync(join(dir, 'placements', 'footer.json'));
    await until(() => registry.current?.placements.has('footer') === false);
  });

  it('follows a rules folder replaced as a whole (the poll re-arms the watch)', async () => {
    const dir = join(root, 'rules');
    cpSync(FIXTURE, dir, { recursive: true });
    const registry = await watched(dir, 100);
    const next = join(root, 'rules.next');
    cpSync(FIXTURE, next, { recursive: true });
    writeFileSync(join(next, 'placements', 'home-hero.json'), withFallback(['offer-10']));
    renameSync(dir, join(root, 'rules.old'));
    renameSync(next, dir);
    await until(() => fallbackOf(registry)?.[0] === 'offer-10');

    // And the watch on the new folder works: an edit there is seen too.
    writeFileSync(join(dir, 'placements', 'home-hero.json'), withFallback(['hero-welcome', 'offer-10']));
    await until(() => fallbackOf(registry)?.length === 2);
  });
});

describe('one change, one load', () => {
  /** Saves as most editors do, by rename, so no load can catch the file half written. */
  const save = (file: string, text: string): void => {
    writeFileSync(`${file}.tmp`, text);
    renameSync(`${file}.tmp`, file);
  };
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('loads, logs and counts a change once though both the file event and the poll see it; a fix after a failure logs "rules recovered"', async () => {
    const dir = join(root, 'rules');
    cpSync(FIXTURE, dir, { recursive: true });
    const hero = join(dir, 'placements', 'home-hero.json');
    const { logger, lines } = recordingLogger();
    const registry = createRuleRegistry({ dir, logger });
    await registry.reload();
    watcher = watchRulesDir({ dir, logger, onChange: () => void registry.reloadIfChanged(), debounceMs: 50, pollMs: 100 });
    await pause(300);

    save(hero, withFallback(['offer-10']));
    await until(() => fallbackOf(registry)?.[0] === 'offer-10');
    // Time for several polls to notice the change as well.
    await pause(1000);
    expect(registry.status().reloads).toEqual({ success: 2, failure: 0 });
    expect(lines.filter((l) => l.message === 'rules loaded')).toHaveLength(2);

    save(hero, '{ "placement": ');
    await until(() => registry.status().errors.length > 0);
    await pause(1000);
    expect(registry.status().reloads).toEqual({ success: 2, failure: 1 });
    expect(lines.filter((l) => l.level === 'error')).toHaveLength(1);

    save(hero, heroText);
    await until(() => registry.status().errors.length === 0);
    await pause(1000);
    expect(registry.status().reloads).toEqual({ success: 3, failure: 1 });
    expect(lines.filter((l) => l.message === 'rules recovered')).toEqual([
      expect.objectContaining({ level: 'info', fields: expect.objectContaining({ version: registry.current?.version }) }),
    ]);
  });
});

describe('requests during reloads', () => {
  it('never fail while the rules are swapped back and forth', async () => {
    const dir = join(root, 'rules');
    cpSync(FIXTURE, dir, { recursive: true });
    const registry = createRuleRegistry({ dir, logger: silentLogger });
    await registry.reload();
    const versions = new Set([registry.current?.version]);
    const app = createApp({ rules: registry, store: createMemoryStore({ retentionDays: 365, maxTouchpointsPerProfile: 1000 }), logger: silentLogger });

    let reloading = true;
    const reloader = (async () => {
      for (let i = 0; i < 16; i++) {
        writeFileSync(join(dir, 'placements', 'home-hero.json'), i % 2 ? heroText : withFallback(['offer-10']));
        await registry.reload();
        versions.add(registry.current?.version);
      }
      reloading = false;
    })();

    const statuses: number[] = [];
    const seen = new Set<string>();
    while (reloading) {
      // In-process requests on the memory store never wait for I/O; yield so the reloader's file reads can run.
      await new Promise((r) => setImmediate(r));
      const wave = await Promise.all(
        Array.from({ length: 25 }, (_, i) => app.request(`/v1/decisions/c-${i}?placement=home-hero&channel=web`)),
      );
      for (const res of wave) {
        statuses.push(res.status);
        const body = (await res.json()) as { rulesVersion: string; placements: { 'home-hero': { items: unknown[] } } };
        seen.add(body.rulesVersion);
        expect(body.placements['home-hero'].items.length).toBe(1);
      }
    }
    await reloader;
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 200)).toBe(true);
    for (const version of seen) expect(versions.has(version)).toBe(true);
  });
});
