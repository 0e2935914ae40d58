/** POST /v1/simulate: the decision and its trace for a hypothetical customer at any moment; nothing stored. */
import { decide } from '../decide/decide.js';
import { toDecisionProfile } from '../domain/decision-profile.js';
import { jsonByteLength } from '../domain/json.js';
import { MAX_CONTEXT_BYTES } from '../domain/decision.js';
import { simulationAnswerSchema, simulationRequestSchema } from '../domain/simulation.js';
import { newestFirst, type StoredTouchpoint } from '../domain/touchpoint.js';
import { validationProblem } from './problem.js';
import { parseWith, readJson, rejectForbiddenKeys } from './request-body.js';
import { defineRoute } from './route.js';

export const simulateRoutes = [
  defineRoute({
    method: 'POST',
    path: '/v1/simulate',
    scope: 'admin',
    body: {
      description: 'The hypothetical customer, context, placements and moment.',
      schemas: [simulationRequestSchema],
      examples: {
        preview: {
          summary: 'A cart abandoner on the web, a week from now',
          value: {
            profile: { attributes: { tier: 'gold' }, touchpoints: [{ type: 'cart_add', channel: 'web', at: '2026-03-05T10:00:00Z' }] },
            context: { channel: 'web' },
            placements: ['home-hero'],
            asOf: '2026-03-06T09:00:00Z',
          },
        },
      },
    },
    handler: (deps) => async (c) => {
      const snapshot = deps.snapshot();
      const body = await readJson(c);
      rejectForbiddenKeys(body, '$');
      const request = parseWith(simulationRequestSchema, body);
      const context = request.context ?? {};
      if (jsonByteLength(context) > MAX_CONTEXT_BYTES) {
        throw validationProblem(`$.context: is over ${MAX_CONTEXT_BYTES / 1024} KB`, [{ path: '$.context', message: `is over ${MAX_CONTEXT_BYTES / 1024} KB as JSON` }]);
      }
      const now = request.asOf === undefined ? deps.now() : Date.parse(request.asOf);
      const customerId = request.customerId ?? 'simulated';
      const touchpoints: StoredTouchpoint[] = (request.profile?.touchpoints ?? [])
        .map((tp) => ({ id: null, type: tp.type, channel: tp.channel, at: Date.parse(tp.at), properties: null }))
        // What had not happened yet at `asOf` is not part of the customer then.
        .filter((tp) => tp.at <= now)
        .sort(newestFirst);
      const profile = toDecisionProfile({
        customerId,
        attributes: request.profile?.attributes ?? {},
        stage: request.profile?.stage ?? null,
        touchpoints,
        createdAt: now,
        updatedAt: now,
      });
      const decision = await decide(snapshot, profile, { customerId, placements: request.placements, context, explain: true }, { now, decisionId: deps.newId() });
      return c.json({ ...decision, asOf: new Date(now).toISOString() });
    },
    doc: {
      operationId: 'simulate',
      summary: 'Simulate a decision',
      description:
        'Decides, with the explain trace, for a hypothetical customer (attributes, explicit stage, touchpoints) and context at `asOf` (default now): activity windows and `withinDays` are judged at that moment, and touchpoints after it are left out. Nothing is stored and no outcome can be reported for it. The console\'s simulator uses it.',
      tag: 'decisions',
      responses: {
        200: { description: 'The decision, with `trace` and `stageTrace`, and the `asOf` it was made at.', json: simulationAnswerSchema },
        400: 'InvalidRequest',
        503: 'NotReady',
      },
    },
  }),
];
