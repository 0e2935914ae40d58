import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { copyFixtureRules, createHarness, json, removeTempDirs, STORE_KINDS, type Harness } from './harness.js';

describe.each(STORE_KINDS)('GET /v1/rules (%s store)', (kind) => {
  let h: Harness;

  afterEach(async () => {
    await h.close();
  });
  afterAll(removeTempDirs);

  async function rulesStatus() {
    const res = await h.request('GET', '/v1/rules');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    return json(res);
  }

  async function heroFor(customerId: string) {
    const res = await h.request('POST', '/v1/decisions', { customerId, placements: ['home-hero'] });
    expect(res.status).toBe(200);
    return json(res);
  }

  it('answers { version, loadedAt, placements, errors: [] } after a good load', async () => {
    h = await createHarness({ store: kind });
    const body = await rulesStatus();
    expect(typeof body.version).toBe('string');
    expect(body.version).not.toBe('');
    expect(body.loadedAt).toBe(new Date(h.clock.now()).toISOString());
    expect([...body.placements].sort()).toEqual(['email-banner', 'home-hero', 'sidebar']);
    expect(body.errors).toEqual([]);
  });

  it('after a broken reload lists {file, path, message}, keeps the version and keeps serving the last good rules; after the fix errors is []', async () => {
    const dir = copyFixtureRules();
    h = await createHarness({ store: kind, rulesDir: dir });
    expect((await h.request('PATCH', '/v1/customers/c-gold', { attributes: { tier: 'gold' } })).status).toBe(200);
    const good = await rulesStatus();

    // Break it: a rule serves an item that is not in the catalog.
    const heroFile = path.join(dir, 'placements', 'home-hero.json');
    const original = fs.readFileSync(heroFile, 'utf8');
    const hero = JSON.parse(original) as { rules: Array<{ name: string; event: { params: { items: string[] } } }> };
    hero.rules[1]!.event.params.items = ['ghost-item'];
    fs.writeFileSync(heroFile, JSON.stringify(hero, null, 2));
    h.clock.advance(60_000);
    const outcome = await h.registry.reload();
    expect(outcome.ok).toBe(false);

    const broken = await rulesStatus();
    expect(broken.version).toBe(good.version);
    expect(broken.loadedAt).toBe(good.loadedAt);
    expect([...broken.placements].sort()).toEqual(['email-banner', 'home-hero', 'sidebar']);
    expect(broken.errors).toHaveLength(1);
    expect(broken.errors[0]).toEqual({
      file: 'placements/home-hero.json',
      path: '$.rules[1].event.params.items[0]',
      message: expect.stringContaining('ghost-item'),
    });

    // The last good rules keep serving.
    const during = await heroFor('c-gold');
    expect(during.rulesVersion).toBe(good.version);
    expect(during.placements['home-hero'].items).toMatchObject([{ id: 'offer-gold', rule: 'gold-members' }]);

    // Fix it differently from the original, so the rules really change.
    hero.rules[1]!.event.params.items = ['side-note'];
    fs.writeFileSync(heroFile, JSON.stringify(hero, null, 2));
    expect((await h.registry.reload()).ok).toBe(true);

    const fixed = await rulesStatus();
    expect(fixed.errors).toEqual([]);
    expect(fixed.loadedAt).toBe(new Date(h.clock.now()).toISOString());
    expect(fixed.version).not.toBe(good.version);
    const after = await heroFor('c-gold');
    expect(after.rulesVersion).toBe(fixed.version);
    expect(after.placements['home-hero'].items).toMatchObject([{ id: 'side-note', rule: 'gold-members' }]);
  });

  it('reports malformed JSON with the file and "$", and every broken file at once', async () => {
    const dir = copyFixtureRules();
    h = await createHarness({ store: kind, rulesDir: dir });
    const good = await rulesStatus();
    fs.writeFileSync(path.join(dir, 'segments.json'), '{ "segments": { "gold": ');
    const sidebarFile = path.join(dir, 'placements', 'sidebar.json');
    const sidebar = JSON.parse(fs.readFileSync(sidebarFile, 'utf8')) as Record<string, unknown>;
    sidebar.maxItems = 0;
    fs.writeFileSync(sidebarFile, JSON.stringify(sidebar));
    await h.registry.reload();

    const broken = await rulesStatus();
    expect(broken.version).toBe(good.version);
    expect(broken.errors).toEqual(
      expect.arrayContaining([
        { file: 'segments.json', path: '$', message: expect.any(String) },
        { file: 'placements/sidebar.json', path: '$.maxItems', message: expect.any(String) },
      ]),
    );
    for (const error of broken.errors) {
      expect(Object.keys(error).sort()).toEqual(['file', 'message', 'path']);
      expect(error.message).not.toBe('');
    }
    expect((await heroFor('c-1')).rulesVersion).toBe(good.version);
  });

  it('changes rulesVersion in decisions when the loaded rules change', async () => {
    const dir = copyFixtureRules();
    h = await createHarness({ store: kind, rulesDir: dir });
    const before = (await heroFor('c-1')).rulesVersion;
    const catalogFile = path.join(dir, 'catalog.json');
    const catalog = JSON.parse(fs.readFileSync(catalogFile, 'utf8')) as { items: Array<Record<string, unknown>> };
    catalog.items[0]!.title = 'Welcome back';
    fs.writeFileSync(catalogFile, JSON.stringify(catalog));
    expect((await h.registry.reload()).ok).toBe(true);
    const after = await heroFor('c-1');
    expect(after.rulesVersion).not.toBe(before);
    expect(after.rulesVersion).toBe((await rulesStatus()).version);
    expect(after.placements['home-hero'].items).toMatchObject([{ id: 'hero-welcome', title: 'Welcome back' }]);
  });
});
