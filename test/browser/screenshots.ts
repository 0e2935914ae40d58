/**
 * `npm run screenshots`: pictures of each console view for docs/console.md,
 * taken by the same browser code as the tests (console-service.ts), against
 * the real service with the example rules and a few seeded customers.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { launchChromium, startConsoleService, watchedContext } from './console-service.js';

const OUT_DIR = fileURLToPath(new URL('../../docs/console/', import.meta.url));

const service = await startConsoleService();
const browser = await launchChromium();
try {
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const watched = await watchedContext(browser, service.url);
  const page = await watched.context.newPage();
  const shot = async (name: string) => {
    await page.screenshot({ path: `${OUT_DIR}${name}.png`, fullPage: true });
    console.log(`docs/console/${name}.png`);
  };

  await page.goto(`${service.url}/console#/rules`);
  await page.getByRole('heading', { name: /^home-hero/ }).waitFor();
  await shot('rules');

  await page.goto(`${service.url}/console#/customer/c-42`);
  await page.getByRole('heading', { name: 'c-42' }).waitFor();
  await page.getByLabel('Placement').selectOption('home-hero');
  await page.getByRole('button', { name: 'Decide and explain' }).click();
  await page.getByRole('list', { name: 'explain trace of home-hero' }).waitFor();
  await shot('customer');

  await page.goto(`${service.url}/console#/simulate`);
  await page.getByRole('button', { name: 'Simulate' }).click();
  await page.getByTestId('decision').waitFor();
  await shot('simulator');

  // Something to report: decisions for the home hero, with impressions for each, clicks for some, a few conversions.
  for (let n = 0; n < 60; n++) {
    const customerId = `visitor-${n}`;
    const post = (path: string, body: unknown) =>
      fetch(`${service.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const decision = (await (await post('/v1/decisions', { customerId, placements: ['home-hero'], context: { channel: 'web' } })).json()) as {
      decisionId: string;
      placements: Record<string, { items: Array<{ id: string }> }>;
    };
    const item = decision.placements['home-hero']?.items[0]?.id;
    if (!item) continue;
    const kinds = ['impression', ...(n % 4 === 0 ? ['click'] : []), ...(n % 12 === 0 ? ['conversion'] : [])];
    const answer = await post('/v1/outcomes', { outcomes: kinds.map((kind) => ({ decisionId: decision.decisionId, customerId, placement: 'home-hero', item, kind, ...(kind === 'conversion' ? { value: 49 } : {}) })) });
    if (answer.status !== 202) throw new Error(`outcomes answered ${answer.status}: ${await answer.text()}`);
  }
  await page.goto(`${service.url}/console#/reports/home-hero`);
  await page.locator('main table').waitFor();
  await page.waitForFunction("document.querySelectorAll('main .card canvas').length > 0");
  await shot('reports');

  await page.goto(`${service.url}/console#/journey`);
  await page.getByText(/customers · computed/).waitFor();
  await page.waitForFunction("document.querySelectorAll('canvas').length === 2");
  await shot('journey');

  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${service.url}/console#/journey`);
  await page.getByText(/customers · computed/).waitFor();
  await page.screenshot({ path: `${OUT_DIR}journey-phone.png` });
  console.log('docs/console/journey-phone.png');

  if (watched.foreign.length > 0 || watched.errors.length > 0) {
    console.error('requests to other hosts:', watched.foreign, 'errors:', watched.errors);
  }
} finally {
  await browser.close();
  await service.close();
}
