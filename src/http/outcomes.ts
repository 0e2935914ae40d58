/** Outcomes: what customers did with what decisions served (contract section 8). */
import { isPlainObject } from '../domain/json.js';
import {
  MAX_OUTCOMES_PER_REQUEST,
  OUTCOME_KINDS,
  outcomeAppendResultSchema,
  outcomeBatchSchema,
  outcomeInputSchema,
  type OutcomeInput,
} from '../domain/outcome.js';
import { checkOutcomes, type RejectReason } from '../outcomes/check-outcomes.js';
import type { ResolvedDeps } from './deps.js';
import { HttpProblem, validationProblem } from './problem.js';
import { parseWith, readJson } from './request-body.js';
import { defineRoute } from './route.js';

export const outcomeRoutes = [
  defineRoute({
    method: 'POST',
    path: '/v1/outcomes',
    scope: 'ingest',
    body: {
      description: 'An outcome, or `{ "outcomes": [...] }`.',
      schemas: [outcomeInputSchema, outcomeBatchSchema],
      examples: {
        single: {
          summary: 'One outcome',
          value: { decisionId: 'AQJrMWZ…', customerId: 'c-42', placement: 'home-hero', item: 'hero-cart', kind: 'click' },
        },
        batch: {
          summary: 'Several outcomes at once',
          value: {
            outcomes: [
              { decisionId: 'AQJrMWZ…', customerId: 'c-42', placement: 'home-hero', item: 'hero-cart', kind: 'impression', at: '2026-01-31T12:00:00Z' },
              { decisionId: 'AQJrMWZ…', customerId: 'c-42', placement: 'home-hero', item: 'hero-cart', kind: 'conversion', value: 59.9 },
            ],
          },
        },
      },
    },
    handler: (deps) => async (c) => {
      const body = await readJson(c);
      const now = deps.now();
      const batch = isPlainObject(body) && 'outcomes' in body;
      let inputs: OutcomeInput[];
      try {
        inputs = batch ? parseWith(outcomeBatchSchema, body).outcomes : [parseWith(outcomeInputSchema, body)];
      } catch (err) {
        if (err instanceof HttpProblem) refused(deps, new Map([['invalid', err.problem.errors?.length ?? 1]]));
        throw err;
      }
      const paths = inputs.map((_, i) => (batch ? `$.outcomes[${i}]` : '$'));
      const { byCustomer, rejected } = await checkOutcomes(inputs, paths, deps.signer, now, (id) => deps.store.resolve(id));
      if (rejected.length > 0) {
        const reasons = new Map<RejectReason, number>();
        for (const r of rejected) reasons.set(r.reason, (reasons.get(r.reason) ?? 0) + 1);
        refused(deps, reasons, inputs.length);
        const first = rejected[0] as { path: string; message: string };
        const more = rejected.length > 1 ? ` (and ${rejected.length - 1} more)` : '';
        throw validationProblem(`${first.path}: ${first.message}${more}`, rejected.map(({ path, message }) => ({ path, message })));
      }
      // One store write per customer; each is durable when it resolves, so the answer waits for all of them.
      const results = await Promise.all([...byCustomer].map(([customerId, outcomes]) => deps.store.appendOutcomes(customerId, outcomes, now)));
      // Then the report counters, before the answer, for every valid outcome, duplicates too: counting is idempotent per
      // outcome, so a request retried after a crash between the two writes completes the counters exactly once. Counted
      // under the canonical id the store put them on, so that the same outcome sent for two ids of a customer counts once.
      await deps.reports.store.recordOutcomes(
        [...byCustomer.values()].flatMap((outcomes, n) => outcomes.map((outcome) => ({ ...outcome, customerId: (results[n] as { customerId: string }).customerId }))),
      );
      let accepted = 0;
      let duplicates = 0;
      for (const result of results) {
        accepted += result.accepted;
        duplicates += result.duplicates;
        for (const [kind, count] of Object.entries(result.acceptedByKind)) deps.metrics.recordOutcomes(kind, count);
      }
      return c.json({ accepted, duplicates }, 202);
    },
    doc: {
      operationId: 'recordOutcomes',
      summary: 'Record outcomes',
      description: `Records what a customer did with an item a decision served: one outcome, or up to ${MAX_OUTCOMES_PER_REQUEST} as \`{ "outcomes": [...] }\`. \`kind\` is ${OUTCOME_KINDS.join(', ')}. Each outcome is checked against its \`decisionId\`, which says (signed) which items the decision served in each placement, by which rule: an id this service did not issue or that was altered, one older than 30 days, another customer's decision, or an item the decision did not serve in that placement is a 400, and a batch with any such outcome is refused whole (\`errors\` names each one). One outcome of each kind per decision, placement and item is stored; a repeat counts as a duplicate, so retrying is safe. Stored durably before the answer.`,
      tag: 'outcomes',
      responses: {
        202: { description: 'Stored.', json: outcomeAppendResultSchema, example: { accepted: 2, duplicates: 0 } },
        400: 'InvalidRequest',
        503: 'StoreUnavailable',
      },
    },
  }),
];

/** Counts a refused batch by reason and says so in the log, for an operator chasing a client that sends bad ids. */
function refused(deps: ResolvedDeps, reasons: Map<string, number>, outcomes?: number): void {
  for (const [reason, count] of reasons) deps.metrics.recordRejectedOutcomes(reason, count);
  const counts = Object.fromEntries(reasons);
  const suspicious = (reasons.get('forged') ?? 0) + (reasons.get('other-customer') ?? 0) > 0;
  (suspicious ? deps.logger.warn : deps.logger.info).call(deps.logger, 'outcomes refused', { ...(outcomes !== undefined ? { outcomes } : {}), ...counts });
}

