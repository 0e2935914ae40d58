/** GET /v1/rules: the rules serving and how loading went. */
import { rulesStatusSchema } from '../domain/responses.js';
import { defineRoute } from './route.js';

export const rulesRoutes = [
  defineRoute({
    method: 'GET',
    path: '/v1/rules',
    scope: 'admin',
    handler: (deps) => (c) => {
      const status = deps.rules.status();
      return c.json({
        version: status.version,
        loadedAt: status.loadedAt,
        placements: status.placements,
        errors: status.errors,
        warnings: status.warnings,
        reloads: status.reloads,
      });
    },
    doc: {
      operationId: 'getRulesStatus',
      summary: 'The rules serving',
      description:
        'The version and placements of the rules serving, and how loading went: `errors` are those of the latest failed load (the last good rules keep serving), `[]` after a good one.',
      tag: 'rules',
      responses: { 200: { description: 'The rules status.', json: rulesStatusSchema } },
    },
  }),
];
