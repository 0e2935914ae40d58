/**
 * GET /docs: the human API reference, Swagger UI over /openapi.json. Every
 * asset comes from the service itself (swagger-ui-dist in node_modules), so
 * the page works without internet access and loads nothing from a CDN.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { compressible, encodedAnswer, type Compressed } from './compressed.js';
import { notFoundProblem } from './problem.js';
import { defineRoute } from './route.js';

export const DOCS_ASSETS_PATH = '/docs/assets';

/** The only files served under /docs/assets: a fixed list, so no request can name another file. */
const DIST_ASSETS: Readonly<Record<string, string>> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

/**
 * Starts Swagger UI. A file, not an inline script, so the page's
 * Content-Security-Policy can allow scripts from this service only. The
 * document URL is relative, so the page also works behind a path prefix.
 */
const INITIALIZER = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: new URL('openapi.json', window.location.href).href,
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: 'StandaloneLayout',
    // No call to validator.swagger.io: nothing leaves this service.
    validatorUrl: null,
  });
});
`;

const PAGE_CSS = `html { box-sizing: border-box; overflow-y: scroll; }
*, *:before, *:after { box-sizing: inherit; }
body { margin: 0; background: #fafafa; }
/* The top bar is for exploring other documents: this page shows one. */
.swagger-ui .topbar { display: none; }
`;

const OWN_ASSETS: Readonly<Record<string, { type: string; text: string }>> = {
  'docs.js': { type: 'text/javascript; charset=utf-8', text: INITIALIZER },
  'docs.css': { type: 'text/css; charset=utf-8', text: PAGE_CSS },
};

/** Relative to /docs, so the page works wherever the service is mounted. */
const PAGE = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>nextbest API reference</title>
    <link rel="stylesheet" href="docs/assets/swagger-ui.css">
    <link rel="stylesheet" href="docs/assets/docs.css">
    <link rel="icon" type="image/png" href="docs/assets/favicon-32x32.png" sizes="32x32">
    <link rel="icon" type="image/png" href="docs/assets/favicon-16x16.png" sizes="16x16">
  </head>
  <body>
    <noscript>This page needs JavaScript. The API itself is described by <a href="openapi.json">openapi.json</a>.</noscript>
    <div id="swagger-ui"></div>
    <script src="docs/assets/swagger-ui-bundle.js"></script>
    <script src="docs/assets/swagger-ui-standalone-preset.js"></script>
    <script src="docs/assets/docs.js"></script>
  </body>
</html>
`;

// Swagger UI sets inline styles and inline SVG images; everything else must come from this origin.
const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'none'",
].join('; ');

/** A day: the files only change with the service's dependencies, and the ETag revalidates them after. */
const ASSET_CACHE_CONTROL = 'public, max-age=86400';

interface Asset {
  body: Compressed;
  type: string;
  etag: string;
}

let assets: ReadonlyMap<string, Asset> | undefined;

/** Reads the assets once, on first use; a missing swagger-ui-dist fails that request, not start-up. */
function loadAssets(): ReadonlyMap<string, Asset> {
  if (assets) return assets;
  const dir = swaggerUiDistDir();
  const loaded = new Map<string, Asset>();
  for (const [name, type] of Object.entries(DIST_ASSETS)) loaded.set(name, asset(readFileSync(path.join(dir, name)), type));
  for (const [name, { type, text }] of Object.entries(OWN_ASSETS)) loaded.set(name, asset(Buffer.from(text, 'utf8'), type));
  assets = loaded;
  return loaded;
}

function swaggerUiDistDir(): string {
  // swagger-ui-dist's own locator; its index.js would also load the 1.7 MB browser bundle into Node.
  const require = createRequire(import.meta.url);
  const getAbsoluteFSPath = require('swagger-ui-dist/absolute-path.js') as () => string;
  return getAbsoluteFSPath();
}

function asset(bytes: Buffer, type: string): Asset {
  const body = new Uint8Array(new ArrayBuffer(bytes.byteLength));
  body.set(bytes);
  return { body: compressible(body), type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
}

export const docsRoutes = [
  defineRoute({
    method: 'GET',
    path: '/docs',
    scope: 'open',
    // The page's assets below it are open too; an unknown one is a plain 404.
    openBelow: true,
    handler: () => (c) =>
      c.html(PAGE, 200, {
        'Cache-Control': 'no-cache',
        'Content-Security-Policy': PAGE_CSP,
        'X-Content-Type-Options': 'nosniff',
        'Referrer-Policy': 'no-referrer',
      }),
    doc: {
      operationId: 'getApiReference',
      summary: 'API reference',
      description: 'A human API reference (Swagger UI) of this document; every asset is served by the service itself.',
      tag: 'operations',
      responses: { 200: { description: 'An HTML page.', content: { 'text/html': { schema: { type: 'string' } } } } },
    },
  }),

  // `/docs/` would break the page's relative asset paths: send the browser to the page itself.
  defineRoute({
    method: 'GET',
    path: '/docs/',
    scope: 'open',
    handler: () => (c) => c.redirect('../docs', 301),
  }),

  // The page's own files: part of the reference, not of the API it describes.
  defineRoute({
    method: 'GET',
    path: `${DOCS_ASSETS_PATH}/:file`,
    scope: 'open',
    handler: () => (c) => {
      const name = c.req.param('file') as string;
      const found = Object.hasOwn(DIST_ASSETS, name) || Object.hasOwn(OWN_ASSETS, name) ? loadAssets().get(name) : undefined;
      if (!found) throw notFoundProblem(`no documentation asset "${name}"`);
      const answer = encodedAnswer(found.body, c.req.header('Accept-Encoding'));
      const headers = {
        'Content-Type': found.type,
        'Cache-Control': ASSET_CACHE_CONTROL,
        ETag: found.etag,
        'X-Content-Type-Options': 'nosniff',
        ...answer.headers,
      };
      if (matchesEtag(c.req.header('If-None-Match'), found.etag)) return c.body(null, 304, headers);
      return c.body(answer.body, 200, headers);
    },
  }),
];

function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header
    .split(',')
    .map((tag) => tag.trim().replace(/^W\//, ''))
    .some((tag) => tag === etag || tag === '*');
}
