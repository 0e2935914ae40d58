/**
 * The reports view against the shape of GET /v1/reports/placements/{placement}
 * (contract section 9, with its per-day figures), answered by the browser
 * from a fixture: the view must draw the table and a chart per item whether
 * or not this build serves the route yet.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, startConsoleService, watchedContext, type ConsoleService } from './console-service.js';

const interval = (rate: number) => ({ rate, low: rate / 2, high: Math.min(1, rate * 1.5) });
const day = (d: string, n: number) => ({ day: d, served: 10 * n, impressions: 8 * n, clicks: n, conversions: n > 1 ? 1 : 0, dismisses: 0, value: n > 1 ? 25 : 0 });
const REPORT = {
  placement: 'home-hero',
  from: '2026-12-01',
  to: '2026-12-03',
  rows: [
    {
      rule: 'cart-abandoners',
      item: 'hero-cart-reminder',
      served: 60,
      impressions: 48,
      clicks: 6,
      conversions: 2,
      dismisses: 0,
      value: 50,
      ctr: interval(0.125),
      conversionRate: interval(0.04),
      days: [day('2026-12-01', 1), day('2026-12-02', 2), day('2026-12-03', 3)],
    },
    { rule: null, item: 'hero-welcome', served: 5, impressions: 0, clicks: 0, conversions: 0, dismisses: 0, value: 0, ctr: null, conversionRate: null, days: [day('2026-12-01', 0), day('2026-12-02', 0), day('2026-12-03', 0)] },
  ],
};

describe('the console reports view', () => {
  let service: ConsoleService;
  let browser: Browser;

  beforeAll(async () => {
    service = await startConsoleService();
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await service?.close();
  });

  it('shows each row of a placement report with a chart per item over the days', async () => {
    const watched = await watchedContext(browser, service.url);
    const page = await watched.context.newPage();
    await page.route('**/v1/reports/placements/**', (route) => route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(REPORT) }));
    await page.goto(`${service.url}/console#/reports/home-hero`);
    await page.getByRole('table').waitFor();
    const table = await page.getByRole('table').innerText();
    expect(table).toContain('hero-cart-reminder');
    expect(table).toContain('12.5%');
    expect(table).toContain('(fallback)');
    expect(await page.locator('canvas').count()).toBe(2);
    expect(watched.foreign).toEqual([]);
    expect(watched.errors).toEqual([]);
  }, 30_000);
});
