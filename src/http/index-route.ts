/** GET /: what this service is and where its reference is, for a person or a client that starts at the root. */
import { serviceIndexSchema } from '../domain/responses.js';
import { packageVersion } from '../version.js';
import { defineRoute } from './route.js';

/** Relative links, so they hold behind a path prefix too. */
const LINKS = {
  docs: 'docs',
  console: 'console',
  openapi: 'openapi.json',
  health: 'healthz',
  ready: 'readyz',
  metrics: 'metrics',
} as const;

export const indexRoute = defineRoute({
  method: 'GET',
  path: '/',
  scope: 'open',
  handler: () => {
    const body = { service: 'nextbest' as const, version: packageVersion(), links: LINKS };
    return (c) => c.json(body);
  },
  doc: {
    operationId: 'getIndex',
    summary: 'This service',
    description: 'Names the service and its version, and links to the API reference (`docs`), the marketers’ console (`console`), this document, the probes and the metrics.',
    tag: 'operations',
    responses: {
      200: { description: 'The service and its links.', json: serviceIndexSchema, example: { service: 'nextbest', version: '0.1.0', links: LINKS } },
    },
  },
});
