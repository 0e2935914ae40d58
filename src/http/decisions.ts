/** Decisions: for one customer by body or by URL, and for many at once. */
import {
  batchDecisionRequestSchema,
  batchDecisionResultsSchema,
  decisionRequestSchema,
  decisionSchema,
  readDecisionRequest,
  MAX_BATCH_REQUESTS,
  MAX_CONTEXT_BYTES,
  MAX_PLACEMENTS_PER_REQUEST,
  type Decision,
  type DecisionRequest,
} from '../domain/decision.js';
import type { DecisionProfile } from '../domain/decision-profile.js';
import { ProfileDataError, StoreUnavailableError } from '../domain/errors.js';
import { SLUG_PATTERN } from '../domain/ids.js';
import { FORBIDDEN_KEYS, isPlainObject, joinPath, jsonByteLength, pathOf, type JsonObject } from '../domain/json.js';
import type { ProblemAnswer } from '../domain/responses.js';
import { decide, UnknownPlacementsError } from '../decide/decide.js';
import type { RulesetSnapshot } from '../ruleset/snapshot.js';
import type { DecisionReadOptions } from '../profiles/store.js';
import { parseCustomerId } from './customer-id.js';
import { decisionJson } from './decision-json.js';
import type { ResolvedDeps } from './deps.js';
import { PROBLEM_EXAMPLES } from './openapi.js';
import { PROBLEM_TYPES, toProblem, validationProblem, type Problem } from './problem.js';
import { checkRawJson, parseJsonBody, parseWith, readJson, rejectForbiddenKeys, rejectMalformedQuery } from './request-body.js';
import type { Context } from 'hono';
import { jsonAnswer } from './request-log.js';
import type { DegradedReason } from './degraded-warning.js';
import { defineRoute } from './route.js';

const BATCH_LOAD_CHUNK = 100;

/** Problems only decisions answer, as examples for the document. */
const EXAMPLES = {
  validation: {
    type: PROBLEM_TYPES.validation,
    title: 'Invalid request',
    status: 400,
    detail: '$.placements: needs at least one placement',
    errors: [{ path: '$.placements', message: 'needs at least one placement' }],
  },
  unknownPlacement: {
    type: PROBLEM_TYPES.unknownPlacement,
    title: 'Unknown placement',
    status: 400,
    detail: 'unknown placement: home-heor; the rules define home-hero, cart-sidebar',
    errors: [{ path: '$.placements[0]', message: 'unknown placement "home-heor"' }],
  },
} satisfies Record<string, ProblemAnswer>;

const DECISION_EXAMPLE = {
  decisionId: '6f1c2a9e-3d7b-4c1e-9a55-0b6d2f7e8c10',
  customerId: 'c-42',
  stage: 'consideration',
  stageSource: 'inferred',
  rulesVersion: '3f9a1c2b7d4e',
  placements: {
    'home-hero': {
      items: [{ id: 'hero-cart', kind: 'content', rule: 'cart-abandoners', title: 'Still thinking it over?', url: 'https://www.example.com/cart' }],
      fallback: false,
    },
  },
} satisfies Decision;

export const decisionRoutes = [
  defineRoute({
    method: 'POST',
    path: '/v1/decisions',
    scope: 'decide',
    body: {
      description: 'The customer, the placements, and the context the rules may read.',
      schemas: [decisionRequestSchema],
      examples: {
        simple: { summary: 'One placement', value: { customerId: 'c-42', placements: ['home-hero'], context: { channel: 'web' } } },
        explain: {
          summary: 'With explain',
          value: { customerId: 'c-42', placements: ['home-hero'], context: { channel: 'web', device: 'mobile' }, explain: true },
        },
      },
    },
    handler: (deps) => async (c) => {
      const snapshot = deps.snapshot();
      const request = toDecisionRequest(await readJson(c));
      return decisionAnswer(c, await decideOne(deps, snapshot, request));
    },
    doc: {
      operationId: 'decide',
      summary: 'Decide',
      description: `Decides up to ${MAX_PLACEMENTS_PER_REQUEST} placements for one customer (a customer never seen is a new visitor). With \`explain: true\` the decision also says why: each placement's \`trace\` (every rule, whether it matched, each condition's fact value and outcome) and the decision's \`stageTrace\`.`,
      tag: 'decisions',
      responses: {
        200: { description: 'The decision.', json: decisionSchema, example: DECISION_EXAMPLE },
        400: {
          description: 'Malformed JSON, an invalid field, or placements the rules do not define (each named in `errors`).',
          problems: { validation: EXAMPLES.validation, malformedJson: PROBLEM_EXAMPLES.malformedJson, unknownPlacement: EXAMPLES.unknownPlacement },
        },
        503: 'NotReady',
      },
    },
  }),

  defineRoute({
    method: 'GET',
    path: '/v1/decisions/:customerId',
    scope: 'decide',
    // No `body`: nothing in front of the busiest route reads one, and its request is built from the query without a schema.
    handler: (deps) => async (c) => {
      const snapshot = deps.snapshot();
      const customerId = parseCustomerId(c.req.param('customerId'));
      rejectMalformedQuery(c.req.url, (key) => (key === 'placement' ? '$.placements' : joinPath('$.context', key)));
      const query = c.req.queries();
      const context: JsonObject = {};
      for (const key in query) {
        if (key === 'placement') continue;
        if (FORBIDDEN_KEYS.has(key)) rejectForbiddenKeys({ [key]: null }, '$.context');
        context[key] = query[key]?.[0] ?? '';
      }
      const placements = query.placement ?? [];
      if (placements.length === 0) {
        throw validationProblem('name at least one placement: ?placement=home-hero', [{ path: '$.placements', message: 'needs at least one placement' }]);
      }
      if (placements.length > MAX_PLACEMENTS_PER_REQUEST) {
        const message = `must name at most ${MAX_PLACEMENTS_PER_REQUEST} placements`;
        throw validationProblem(message, [{ path: '$.placements', message }]);
      }
      // Built here from the query, so it needs no schema: the customer id is checked, context values
      // are strings by construction, and decide() refuses a placement the rules do not define (all are slugs).
      const request: DecisionRequest = { customerId, placements, context, explain: false };
      // The busiest route of all: the decision's JSON built from its items' kept JSON, its answer on the adapter's fast path.
      return decisionAnswer(c, await decideOne(deps, snapshot, request));
    },
    doc: {
      operationId: 'decideByQuery',
      summary: 'Decide, from a URL',
      description:
        'The same as `POST /v1/decisions`, for a link or an image tag: the placements are `placement` query parameters, and every other query parameter becomes a string field of `context` (the first value of a repeated one). There is no explain here.',
      tag: 'decisions',
      pathParameters: { customerId: 'DecisionCustomerId' },
      query: [
        {
          name: 'placement',
          in: 'query',
          required: true,
          description: `A placement to decide; repeat for more (at most ${MAX_PLACEMENTS_PER_REQUEST}).`,
          style: 'form',
          explode: true,
          schema: { type: 'array', minItems: 1, maxItems: MAX_PLACEMENTS_PER_REQUEST, items: { type: 'string', pattern: SLUG_PATTERN.source } },
          examples: { one: { value: ['home-hero'] } },
        },
        {
          name: 'context',
          in: 'query',
          required: false,
          description: 'Any other query parameter, e.g. `?channel=web&device=mobile`: each becomes a string field of the context the rules read.',
          style: 'form',
          explode: true,
          schema: { type: 'object', additionalProperties: { type: 'string' } },
          examples: { web: { value: { channel: 'web' } } },
        },
      ],
      responses: {
        200: { description: 'The decision.', json: decisionSchema, example: DECISION_EXAMPLE },
        400: {
          description: 'An invalid customer id, no placement, or placements the rules do not define (each named in `errors`).',
          problems: { validation: EXAMPLES.validation, unknownPlacement: EXAMPLES.unknownPlacement },
        },
        503: 'NotReady',
      },
    },
  }),

  defineRoute({
    method: 'POST',
    path: '/v1/decisions/batch',
    scope: 'decide',
    body: {
      description: 'The decision requests.',
      schemas: [batchDecisionRequestSchema],
      examples: {
        batch: {
          summary: 'Two customers',
          value: {
            requests: [
              { customerId: 'c-42', placements: ['home-hero'], context: { channel: 'email' } },
              { customerId: 'c-43', placements: ['home-hero'] },
            ],
          },
        },
      },
    },
    handler: (deps) => async (c) => {
      const body = await parseJsonBody(c);
      // The envelope is checked here, each request on its own below, so one hostile request fails alone.
      checkRawJson(isPlainObject(body) ? { ...body, requests: [] } : body, '$');
      const { requests } = parseWith(batchDecisionRequestSchema, body);
      const snapshot = deps.snapshot();
      // Each result's JSON, in request order: decisions through decisionJson, which keeps every served item's JSON,
      // and a batch serves the same items many times.
      const results: string[] = new Array(requests.length);
      const degradedReasons = new Set<DegradedReason>();
      const valid: Array<{ index: number; request: DecisionRequest }> = [];
      requests.forEach((raw, index) => {
        try {
          checkRawJson(raw, `$.requests[${index}]`);
          valid.push({ index, request: toDecisionRequest(raw, ['requests', index]) });
        } catch (err) {
          results[index] = JSON.stringify(toProblem(err).problem);
        }
      });
      const now = deps.now();
      // Profiles load a chunk at a time, so a batch of heavy profiles never holds the event loop (or memory) at once.
      for (let start = 0; start < valid.length; start += BATCH_LOAD_CHUNK) {
        const chunk = valid.slice(start, start + BATCH_LOAD_CHUNK);
        const loaded = await readProfiles(deps, [...new Set(chunk.map((v) => v.request.customerId))]);
        const profiles = typeof loaded === 'string' ? null : loaded;
        const degraded = typeof loaded === 'string' ? loaded : undefined;
        if (degraded) degradedReasons.add(degraded);
        for (const { index, request } of chunk) {
          const profile = profiles?.get(request.customerId) ?? null;
          try {
            results[index] = decisionJson(await decideCounted(deps, snapshot, profile, request, now, degraded));
          } catch (err) {
            if (!(err instanceof UnknownPlacementsError)) throw err;
            results[index] = JSON.stringify(problemAt(toProblem(err).problem, `$.requests[${index}]`));
          }
        }
      }
      return withDegradedHeader(jsonAnswer(c, `{"results":[${results.join(',')}]}`), degradedReasons);
    },
    doc: {
      operationId: 'decideBatch',
      summary: 'Decide for many customers',
      description: `Up to ${MAX_BATCH_REQUESTS} decision requests at once, e.g. at send time. Each request is checked on its own: \`results\` holds, in request order, a decision or the problem of that request. Only a bad envelope answers 400.`,
      tag: 'decisions',
      responses: {
        200: { description: 'One decision or problem per request, in order.', json: batchDecisionResultsSchema },
        400: 'InvalidRequest',
        503: 'NotReady',
      },
    },
  }),
];

const DEGRADED_HEADER = 'X-Nextbest-Degraded';

/** The reason a profile read failed, when the page should still render without it; null for any other error. */
function degradedReason(err: unknown): DegradedReason | null {
  if (err instanceof StoreUnavailableError) return 'store-unavailable';
  if (err instanceof ProfileDataError) return 'profile-unreadable';
  return null;
}

async function decideOne(deps: ResolvedDeps, snapshot: RulesetSnapshot, request: DecisionRequest): Promise<Decision> {
  let profile: DecisionProfile | null;
  try {
    profile = await deps.store.getForDecision(request.customerId);
  } catch (err) {
    const reason = degradedReason(err);
    if (!reason) throw err;
    deps.warnDegraded(err as Error, reason, 1);
    return decideCounted(deps, snapshot, null, request, deps.now(), reason);
  }
  return decideCounted(deps, snapshot, profile, request, deps.now());
}

/**
 * The chunk's decision profiles, or why they could not be read: the page must
 * still render, so its requests are then decided as new visitors. Customers in
 * the profile cache never reach the store and are unaffected.
 */
export async function readProfiles(
  deps: ResolvedDeps,
  customerIds: readonly string[],
  options?: DecisionReadOptions,
): Promise<Map<string, DecisionProfile> | DegradedReason> {
  try {
    return await deps.store.getManyForDecision(customerIds, options);
  } catch (err) {
    const reason = degradedReason(err);
    if (!reason) throw err;
    deps.warnDegraded(err as Error, reason, customerIds.length);
    return reason;
  }
}

const degradedBecause = new WeakMap<Decision, DegradedReason>();

/** A decision's answer; a degraded one says so in a header too, for proxies, logs and clients that do not read the body. */
function decisionAnswer(c: Context, decision: Decision): Response {
  const answer = jsonAnswer(c, decisionJson(decision));
  const reason = decision.degraded ? degradedBecause.get(decision) : undefined;
  return reason ? withDegradedHeader(answer, [reason]) : answer;
}

/** Adds the degraded header naming the reasons (a batch may hold chunks degraded for different ones); none: unchanged. */
function withDegradedHeader(answer: Response, reasons: Iterable<DegradedReason>): Response {
  const value = [...reasons].join(', ');
  if (value !== '') answer.headers.set(DEGRADED_HEADER, value);
  return answer;
}

/**
 * decide(), timed and counted for the metrics here, so that src/decide stays
 * pure. A degraded decision is marked before it is counted, so the metrics see it.
 */
export async function decideCounted(
  deps: ResolvedDeps,
  snapshot: RulesetSnapshot,
  profile: DecisionProfile | null,
  request: DecisionRequest,
  now: number,
  degraded?: DegradedReason,
): Promise<Decision> {
  const started = performance.now();
  const { reports } = deps;
  const decision = await decide(snapshot, profile, request, {
    now,
    // Set below, once the placements are decided: the id is signed over what they served.
    decisionId: '',
    outcomeTotals: deps.outcomeTotals ?? undefined,
    random: deps.random,
    goalStats: reports.goalStats.get,
  });
  decision.decisionId = deps.signer.sign(request.customerId, decision.placements, now);
  if (degraded) {
    decision.degraded = true;
    degradedBecause.set(decision, degraded);
  }
  deps.metrics.recordDecision(decision, (performance.now() - started) / 1000);
  reports.served.count(decision, now);
  return decision;
}

/** Validates one decision request, answering 400 for bad fields; decide() answers for placements the rules do not define. */
export function toDecisionRequest(raw: unknown, at: ReadonlyArray<string | number> = []): DecisionRequest {
  const base = pathOf(at);
  const body = readDecisionRequest(raw) ?? parseWith(decisionRequestSchema, raw, at);
  const context = (body.context ?? {}) as JsonObject;
  rejectForbiddenKeys(context, `${base}.context`);
  if (jsonByteLength(context) > MAX_CONTEXT_BYTES) {
    throw validationProblem(`context must be at most ${MAX_CONTEXT_BYTES} bytes as JSON`, [
      { path: `${base}.context`, message: `must be at most ${MAX_CONTEXT_BYTES} bytes as JSON` },
    ]);
  }
  return { customerId: body.customerId, placements: body.placements, context, explain: body.explain ?? false };
}

/** A problem of one request of a batch, each field located where the request sits in the body (`$.requests[3]`). */
function problemAt(problem: Problem, base: string): Problem {
  if (!problem.errors) return problem;
  return { ...problem, errors: problem.errors.map((e) => ({ ...e, path: base + e.path.slice(1) })) };
}
