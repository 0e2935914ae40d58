/** The probes: liveness and readiness. Open, since probes carry no key. */
import { healthSchema, notReadyProblemSchema, readySchema } from '../domain/responses.js';
import type { ResolvedDeps } from './deps.js';
import { PROBLEM_EXAMPLES } from './openapi.js';
import { PROBLEM_TYPES, problemResponse } from './problem.js';
import { defineRoute } from './route.js';

export const healthRoutes = [
  defineRoute({
    method: 'GET',
    path: '/healthz',
    scope: 'open',
    handler: () => (c) => c.json({ status: 'ok' }),
    doc: {
      operationId: 'getHealth',
      summary: 'Liveness',
      description: 'Answers 200 while the process lives.',
      tag: 'operations',
      responses: { 200: { description: 'The process is alive.', json: healthSchema, example: { status: 'ok' } } },
    },
  }),

  defineRoute({
    method: 'GET',
    path: '/readyz',
    scope: 'open',
    handler: (deps) => async (c) => {
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
    },
    doc: {
      operationId: 'getReadiness',
      summary: 'Readiness',
      description: 'Answers 200 once rules are loaded and the profile store answers its ping (within STORE_TIMEOUT_MS, default 1 s); 503 until then.',
      tag: 'operations',
      responses: {
        200: { description: 'Ready to serve.', json: readySchema, example: { status: 'ready', rulesVersion: '3f9a1c2b7d4e', store: 'ok' } },
        503: {
          description: 'Not ready: `checks` says what is missing.',
          problems: { notReady: { ...PROBLEM_EXAMPLES.notReady, checks: { rules: 'not loaded', store: 'ok' } } },
          schema: notReadyProblemSchema,
        },
      },
    },
  }),
];

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
