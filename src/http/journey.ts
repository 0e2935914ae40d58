/** GET /v1/reports/journey: the journey map (contract section 14), from the background job. */
import { journeyDaysSchema, journeyReportSchema, JOURNEY_DEFAULT_DAYS, JOURNEY_MAX_DAYS } from '../domain/journey.js';
import { createJourneyReports } from '../reports/journey-job.js';
import { validationProblem } from './problem.js';
import { defineRoute } from './route.js';

export const journeyRoutes = [
  defineRoute({
    method: 'GET',
    path: '/v1/reports/journey',
    scope: 'admin',
    handler: (deps) => {
      const reports = createJourneyReports({
        store: deps.store,
        snapshot: deps.snapshot,
        now: deps.now,
        maxAgeMs: deps.journeyMaxAgeMs,
        onError: (error) => deps.logger.warn('the journey map could not be refreshed; the previous one keeps serving', { error: (error as Error).message }),
      });
      return async (c) => {
        const parsed = journeyDaysSchema.safeParse(c.req.query('days'));
        if (!parsed.success) {
          const message = parsed.error.issues[0]?.message ?? 'must be an integer from 1 to 365';
          throw validationProblem(`days: ${message}`, [{ path: 'days', message }]);
        }
        deps.snapshot(); // 503 before the first rules load, rather than a computation that cannot start
        return c.json(await reports.get(parsed.data));
      };
    },
    doc: {
      operationId: 'getJourneyMap',
      summary: 'The journey map',
      description:
        'Every stored customer\'s stage now and as at `days` ago (the stage rules evaluated at that moment, over the touchpoints and outcomes the customer had then; the explicit stage counts only for now; a customer with none then is in the first stage), the customers by (then, now), and per current stage the touchpoints of the last `days` days by type and channel. Computed in the background over a scan of every customer: the answer is the latest map, with its `asOf`; one older than `JOURNEY_MAX_AGE_SECONDS` is recomputed for the next request. The first request for a `days` value waits for its map.',
      tag: 'reports',
      query: [
        {
          name: 'days',
          in: 'query',
          required: false,
          description: `How far back "then" is, in days: an integer 1–${JOURNEY_MAX_DAYS}, default ${JOURNEY_DEFAULT_DAYS}.`,
          schema: { type: 'integer', minimum: 1, maximum: JOURNEY_MAX_DAYS, default: JOURNEY_DEFAULT_DAYS },
        },
      ],
      responses: {
        200: { description: 'The journey map.', json: journeyReportSchema },
        503: 'NotReady',
        400: { description: 'A bad `days`.', problems: { days: { type: '/problems/validation-error', title: 'Invalid request', status: 400, detail: 'days: must be an integer from 1 to 365', errors: [{ path: 'days', message: 'must be an integer from 1 to 365' }] } } },
      },
    },
  }),
];
