import { Hono } from 'hono';
import type { ResolvedDeps } from './deps.js';
import { PROBLEM_TYPES, problemResponse } from './problem.js';

const PING_TIMEOUT_MS = 1000;

export function healthRoutes(deps: ResolvedDeps): Hono {
  const app = new Hono();

  app.get('/healthz', (c) => c.json({ status: 'ok' }));

  app.get('/readyz', async (c) => {
    const rulesVersion = deps.rules.current?.version ?? null;
    const store = await pingWithin(deps, PING_TIMEOUT_MS);
    if (rulesVersion !== null && store === 'ok') return c.json({ status: 'ready', rulesVersion, store });
    return problemResponse(c, {
      type: PROBLEM_TYPES.notReady,
      title: 'Not ready',
      status: 503,
      detail: rulesVersion === null ? 'no rules are loaded yet' : `the profile store does not answer: ${store}`,
      checks: { rules: rulesVersion === null ? 'not loaded' : 'ok', store },
    });
  });

  return app;
}

async function pingWithin(deps: ResolvedDeps, ms: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no answer within ${ms} ms`), ms);
  });
  try {
    return await Promise.race([deps.store.ping().then(() => 'ok'), timeout]);
  } catch (err) {
    return (err as Error).message || 'failed';
  } finally {
    clearTimeout(timer);
  }
}
