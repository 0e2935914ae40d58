import { Hono } from 'hono';
import type { ResolvedDeps } from './deps.js';
import { PROBLEM_TYPES, problemResponse } from './problem.js';

export function healthRoutes(deps: ResolvedDeps): Hono {
  const app = new Hono();

  app.get('/healthz', (c) => c.json({ status: 'ok' }));

  app.get('/readyz', async (c) => {
    const rulesVersion = deps.rules.current?.version ?? null;
    const store = await pingStore(deps);
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

/**
 * 'ok', or why the store does not answer. Not timed here: the store the app
 * is given answers within STORE_TIMEOUT_MS or fails (profiles/timeout-store.ts).
 */
async function pingStore(deps: ResolvedDeps): Promise<string> {
  try {
    await deps.store.ping();
    return 'ok';
  } catch (err) {
    return (err as Error).message || 'failed';
  }
}
