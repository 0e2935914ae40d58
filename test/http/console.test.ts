import { afterEach, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './harness.js';

describe('GET /console and its assets', () => {
  let h: Harness;

  afterEach(async () => {
    await h.close();
  });

  it('serves the page with a policy that allows this origin only', async () => {
    h = await createHarness();
    const res = await h.request('GET', '/console');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/=]+'/);
    const page = await res.text();
    expect(page).toContain('console/assets/console.js');
    // Every script and style the page names is one of the service's own.
    for (const [, src] of page.matchAll(/(?:src|href)="([^"]+)"/g)) expect(src).not.toMatch(/^(https?:)?\/\//);
  });

  it.each(['console.js', 'console.css', 'preact.mjs', 'hooks.mjs', 'htm.mjs', 'chart.umd.min.js'])('serves %s compressed, with an ETag that revalidates', async (name) => {
    h = await createHarness();
    const res = await h.request('GET', `/console/assets/${name}`, undefined, { 'Accept-Encoding': 'gzip' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-encoding')).toBe('gzip');
    const etag = res.headers.get('etag') ?? '';
    expect(etag).toMatch(/^".+"$/);
    const again = await h.request('GET', `/console/assets/${name}`, undefined, { 'If-None-Match': etag });
    expect(again.status).toBe(304);
  });

  it('answers 404 for any other file, and sends /console/ to /console', async () => {
    h = await createHarness();
    expect((await h.request('GET', '/console/assets/..%2Fpackage.json')).status).toBe(404);
    expect((await h.request('GET', '/console/assets/secrets.js')).status).toBe(404);
    const redirect = await h.request('GET', '/console/');
    expect(redirect.status).toBe(301);
  });
});
