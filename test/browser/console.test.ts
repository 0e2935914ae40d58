/**
 * The console in a real browser: Debian's Chromium, driven by playwright-core,
 * against the real service (example rules, SQLite). Each view loads, a
 * customer lookup shows the explain tree, the simulator answers; no request
 * leaves for another host and nothing logs an error. With API_KEYS, the key form.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, startConsoleService, watchedContext, type ConsoleService, type WatchedContext } from './console-service.js';

const TIMEOUT = 30_000;

describe('the console in Chromium', () => {
  let service: ConsoleService;
  let browser: Browser;
  let watched: WatchedContext;
  let page: Page;

  beforeAll(async () => {
    service = await startConsoleService();
    browser = await launchChromium();
    watched = await watchedContext(browser, service.url);
    page = await watched.context.newPage();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await service?.close();
  });

  it('opens on the rules overview: version, placements and their rules', async () => {
    await page.goto(`${service.url}/console`);
    await page.getByRole('heading', { name: 'Rules overview' }).waitFor();
    await page.getByRole('heading', { name: /^home-hero/ }).waitFor();
    const text = await page.locator('main').innerText();
    expect(text).toMatch(/Version/);
    expect(text).toContain('cart-abandoners');
    expect(text).toContain('No errors.');
  }, TIMEOUT);

  it('looks up a customer: profile, timeline, and a decision with its explain tree', async () => {
    await page.goto(`${service.url}/console#/customer`);
    await page.getByLabel('Customer id').fill('c-42');
    await page.getByRole('button', { name: 'Look up' }).click();
    await page.getByRole('heading', { name: 'c-42' }).waitFor();
    expect(await page.locator('.timeline li').count()).toBe(4);
    await page.getByLabel('Placement').selectOption('home-hero');
    await page.getByRole('button', { name: 'Decide and explain' }).click();
    const tree = page.getByRole('list', { name: 'explain trace of home-hero' });
    await tree.waitFor();
    expect(await tree.locator('.rule-trace').count()).toBeGreaterThan(3);
    expect(await tree.innerText()).toContain('cart-abandoners');
    expect(await page.getByTestId('decision').innerText()).toMatch(/Stage \w+ \(inferred\)/);
  }, TIMEOUT);

  it('simulates a decision for a hypothetical customer, storing nothing', async () => {
    await page.goto(`${service.url}/console#/simulate`);
    await page.getByRole('button', { name: 'Simulate' }).click();
    await page.getByTestId('decision').waitFor();
    expect(await page.getByTestId('decision').innerText()).toContain('home-hero');
    expect(await service.store.get('simulated')).toBeNull();
  }, TIMEOUT);

  it('shows a placement report: a row per rule and item, and a chart of each over the days', async () => {
    // A decision first, so the report has something served to count.
    const decided = await fetch(`${service.url}/v1/decisions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customerId: 'c-42', placements: ['home-hero'] }),
    });
    expect(decided.status).toBe(200);
    await page.goto(`${service.url}/console#/reports/home-hero`);
    await page.getByRole('heading', { name: 'Placement reports' }).waitFor();
    const table = page.locator('main table');
    await table.waitFor();
    expect(await table.locator('tbody tr').count()).toBeGreaterThan(0);
    expect(await page.locator('main .card canvas').count()).toBeGreaterThan(0);
  }, TIMEOUT);

  it('draws the journey map with its charts', async () => {
    await page.goto(`${service.url}/console#/journey`);
    await page.getByText(/5 customers/).waitFor();
    expect(await page.locator('.stage').count()).toBe(5);
    expect(await page.locator('canvas').count()).toBe(2);
  }, TIMEOUT);

  it('is usable on a phone-sized screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole('link', { name: 'Rules', exact: true }).click();
    await page.getByRole('heading', { name: 'Rules overview' }).waitFor();
    // Nothing wider than the screen but the tables, which scroll in their own box.
    const overflow = (await page.evaluate('document.documentElement.scrollWidth - window.innerWidth')) as number;
    expect(overflow).toBeLessThanOrEqual(0);
    await page.setViewportSize({ width: 1280, height: 800 });
  }, TIMEOUT);

  it('sent no request to another host and logged no error', () => {
    expect(watched.foreign).toEqual([]);
    expect(watched.errors).toEqual([]);
  });
});

describe('the console with API_KEYS', () => {
  let service: ConsoleService;
  let browser: Browser;

  beforeAll(async () => {
    service = await startConsoleService({ apiKeys: [{ key: 'admin-key-1', scopes: ['admin'] }, { key: 'decide-key-1', scopes: ['decide'] }] });
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await service?.close();
  });

  it('asks for a key, refuses one without admin, then works with the key in a header only', async () => {
    const watched = await watchedContext(browser, service.url);
    const page = await watched.context.newPage();
    const urls: string[] = [];
    const keyHeaders: string[] = [];
    page.on('request', (request) => {
      urls.push(request.url());
      const auth = request.headers().authorization;
      if (auth) keyHeaders.push(auth);
    });
    await page.goto(`${service.url}/console`);
    await page.getByRole('heading', { name: 'API key' }).waitFor();
    await page.getByLabel('Key').fill('decide-key-1');
    await page.getByRole('button', { name: 'Use this key' }).click();
    await page.getByText('lacks the admin scope').waitFor();
    await page.getByLabel('Key').fill('admin-key-1');
    await page.getByRole('button', { name: 'Use this key' }).click();
    await page.getByRole('heading', { name: 'Rules overview' }).waitFor();
    expect(keyHeaders).toContain('Bearer admin-key-1');
    expect(urls.filter((u) => u.includes('key-1'))).toEqual([]);
    expect(page.url()).not.toContain('key');
    expect(watched.foreign).toEqual([]);
    // The first call without a key (401) and the refused key (403) are the only failed loads the browser reports.
    expect(watched.errors.filter((e) => !/status of (401|403) .*\/v1\/rules/.test(e))).toEqual([]);
  }, TIMEOUT);
});
