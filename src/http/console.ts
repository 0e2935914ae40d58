/**
 * GET /console: the marketers' console (src/console). The page and its
 * assets are open, as /docs is: they hold no data. Everything the console
 * shows comes from the admin-scoped JSON APIs, called with the key the user
 * types in.
 */
import { consoleAssets, isConsoleAsset } from '../console/assets.js';
import { CONSOLE_ASSETS_PATH, CONSOLE_CSP, CONSOLE_PAGE } from '../console/page.js';
import { encodedAnswer } from './compressed.js';
import { notFoundProblem } from './problem.js';
import { defineRoute } from './route.js';

export const consoleRoutes = [
  defineRoute({
    method: 'GET',
    path: '/console',
    scope: 'open',
    openBelow: true,
    handler: () => (c) =>
      c.html(CONSOLE_PAGE, 200, {
        'Cache-Control': 'no-cache',
        'Content-Security-Policy': CONSOLE_CSP,
        'X-Content-Type-Options': 'nosniff',
        'Referrer-Policy': 'no-referrer',
      }),
    doc: {
      operationId: 'getConsole',
      summary: 'The console',
      description:
        'The marketers\' console: rules overview, a customer, a simulator, placement reports and the journey map. Every asset is served by the service itself; the data comes from the admin-scoped APIs, with the key typed into the page (kept in the tab\'s sessionStorage, sent as a header, never in a URL).',
      tag: 'operations',
      responses: { 200: { description: 'An HTML page.', content: { 'text/html': { schema: { type: 'string' } } } } },
    },
  }),

  // `/console/` would break the page's relative asset paths.
  defineRoute({
    method: 'GET',
    path: '/console/',
    scope: 'open',
    handler: () => (c) => c.redirect('../console', 301),
  }),

  defineRoute({
    method: 'GET',
    path: `${CONSOLE_ASSETS_PATH}/:file`,
    scope: 'open',
    handler: () => (c) => {
      const name = c.req.param('file') as string;
      const found = isConsoleAsset(name) ? consoleAssets().get(name) : undefined;
      if (!found) throw notFoundProblem(`no console asset "${name}"`);
      const answer = encodedAnswer(found.body, c.req.header('Accept-Encoding'));
      // Revalidated every time: the names carry no version, and a 304 costs next to nothing.
      const headers = { 'Content-Type': found.type, 'Cache-Control': 'no-cache', ETag: found.etag, 'X-Content-Type-Options': 'nosniff', ...answer.headers };
      const sent = c.req.header('If-None-Match');
      if (sent && sent.split(',').some((tag) => tag.trim().replace(/^W\//, '') === found.etag)) return c.body(null, 304, headers);
      return c.body(answer.body, 200, headers);
    },
  }),
];
