import { Hono } from 'hono';
import type { ResolvedDeps } from './deps.js';

export function rulesRoutes(deps: ResolvedDeps): Hono {
  const app = new Hono();
  app.get('/', (c) => {
    const status = deps.rules.status();
    return c.json({
      version: status.version,
      loadedAt: status.loadedAt,
      placements: status.placements,
      errors: status.errors,
      warnings: status.warnings,
      reloads: status.reloads,
    });
  });
  return app;
}
