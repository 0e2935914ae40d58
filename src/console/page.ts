/**
 * The console's page shell: one HTML page that loads the client module; the
 * client draws every view from the admin-scoped JSON APIs. Paths are
 * relative, so the console works behind a path prefix too.
 */
import { createHash } from 'node:crypto';

export const CONSOLE_ASSETS_PATH = '/console/assets';

/** Bare imports of the client and of preact's hooks, resolved to the service's own copies. */
const IMPORT_MAP = JSON.stringify({
  imports: {
    preact: './console/assets/preact.mjs',
    'preact/hooks': './console/assets/hooks.mjs',
    htm: './console/assets/htm.mjs',
  },
});

export const CONSOLE_PAGE = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta name="referrer" content="no-referrer">
    <title>nextbest console</title>
    <link rel="icon" href="data:,">
    <link rel="stylesheet" href="console/assets/console.css">
    <script type="importmap">${IMPORT_MAP}</script>
    <script src="console/assets/chart.umd.min.js" defer></script>
    <script type="module" src="console/assets/console.js"></script>
  </head>
  <body>
    <noscript>The console needs JavaScript. The API it shows is described at <a href="docs">docs</a>.</noscript>
    <div id="app"></div>
  </body>
</html>
`;

const IMPORT_MAP_HASH = createHash('sha256').update(IMPORT_MAP).digest('base64');

/** Scripts from this service only (plus the import map, by its hash); connections to it only. */
export const CONSOLE_CSP = [
  "default-src 'self'",
  `script-src 'self' 'sha256-${IMPORT_MAP_HASH}'`,
  // Chart.js sizes its canvases with inline styles.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'none'",
].join('; ');
