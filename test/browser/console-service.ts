/**
 * The real service for the browser tests and the screenshots: the example
 * rules of rules/, a temporary SQLite store with a few customers, served on a
 * free port of 127.0.0.1, and Debian's Chromium driven by playwright-core.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve, type ServerType } from '@hono/node-server';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import type { ApiKey, Scope } from '../../src/config.js';
import { createApp } from '../../src/http/app.js';
import { createProfileStore } from '../../src/composition.js';
import { silentLogger } from '../../src/observability/logger.js';
import type { ProfileStore } from '../../src/profiles/store.js';
import { createRuleRegistry } from '../../src/reload/registry.js';

export const EXAMPLE_RULES_DIR = fileURLToPath(new URL('../../rules/', import.meta.url));
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const DAY_MS = 24 * 60 * 60 * 1000;

export interface ConsoleService {
  url: string;
  store: ProfileStore;
  close(): Promise<void>;
}

export async function startConsoleService(options: { apiKeys?: Array<{ key: string; scopes: Scope[] }> } = {}): Promise<ConsoleService> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nextbest-console-'));
  const registry = createRuleRegistry({ dir: EXAMPLE_RULES_DIR, logger: silentLogger });
  const loaded = await registry.reload();
  if (!loaded.ok) throw new Error(`the example rules are invalid: ${JSON.stringify(loaded.errors)}`);
  const store = createProfileStore({
    store: 'sqlite',
    sqlitePath: path.join(dir, 'profiles.db'),
    redisUrl: '',
    retentionDays: 365,
    maxTouchpointsPerProfile: 1000,
    cacheMax: 100,
  });
  await seedCustomers(store);
  const apiKeys: ApiKey[] | null = options.apiKeys ? options.apiKeys.map((k) => ({ key: k.key, scopes: new Set(k.scopes) })) : null;
  const app = createApp({ rules: registry, store, logger: silentLogger, apiKeys });
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the server has no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    store,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A few customers along the journey, with touchpoints over the last weeks. */
async function seedCustomers(store: ProfileStore): Promise<void> {
  const now = Date.now();
  const tp = (type: string, channel: string, daysAgo: number) => ({ id: null, type, channel, at: now - daysAgo * DAY_MS, properties: null });
  await store.patch('c-42', { attributes: { tier: 'gold', firstName: 'Ada', interests: ['hiking'] } }, now);
  await store.appendTouchpoints('c-42', [tp('page_view', 'web', 40), tp('page_view', 'web', 6), tp('cart_add', 'web', 2), tp('email_open', 'email', 1)], now);
  await store.appendTouchpoints('c-browser', [tp('page_view', 'web', 3), tp('page_view', 'app', 1)], now);
  await store.appendTouchpoints('c-buyer', [tp('page_view', 'web', 60), tp('purchase', 'store', 50), tp('purchase', 'web', 10), tp('review', 'web', 5)], now);
  await store.appendTouchpoints('c-returning', [tp('purchase', 'web', 90), tp('email_open', 'email', 4)], now);
  await store.patch('c-explicit', { stage: 'retention' }, now);
}

export async function launchChromium(): Promise<Browser> {
  return await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export interface WatchedContext {
  context: BrowserContext;
  /** Requests that tried to leave for another host (refused). */
  foreign: string[];
  /** Console errors and uncaught page errors. */
  errors: string[];
}

/** A fresh context (its own storage) that refuses and records any request to a host other than the service's. */
export async function watchedContext(browser: Browser, serviceUrl: string, viewport = { width: 1280, height: 800 }): Promise<WatchedContext> {
  const context = await browser.newContext({ viewport });
  const foreign: string[] = [];
  const errors: string[] = [];
  const origin = new URL(serviceUrl).origin;
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('data:') || new URL(url).origin === origin) return route.continue();
    foreign.push(url);
    return route.abort();
  });
  context.on('page', (page) => {
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(`${message.text()} (${message.location().url})`);
    });
    page.on('pageerror', (error) => errors.push(error.message));
  });
  return { context, foreign, errors };
}
