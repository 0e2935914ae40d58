/** GET /v1/rules: the rules serving and how loading went. */
import { rulesStatusSchema } from '../domain/responses.js';
import type { RulesetSnapshot } from '../ruleset/snapshot.js';
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
        placementRules: placementRules(deps.rules.current),
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

/** Each placement with its rules as the marketers wrote them, for the console's rules overview. */
function placementRules(snapshot: RulesetSnapshot | null) {
  if (!snapshot) return [];
  const time = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return [...snapshot.placements.values()].map((placement) => ({
    placement: placement.name,
    file: placement.file,
    maxItems: placement.maxItems,
    fallback: [...placement.fallback],
    optimize: placement.optimize ? { goal: placement.optimize.goal, explore: placement.optimize.explore } : null,
    rules: placement.rules.map((rule) => ({
      name: rule.name,
      priority: rule.priority,
      enabled: rule.enabled,
      activeFrom: time(rule.activeFrom),
      activeUntil: time(rule.activeUntil),
      items: [...rule.items],
      caps: rule.items.flatMap((item) =>
        (snapshot.catalog.get(item)?.caps ?? []).map((cap) => ({ item, kind: cap.kind, max: cap.max, withinDays: cap.withinDays, scope: cap.scope })),
      ),
    })),
  }));
}
