import { Hono } from 'hono';
import {
  batchDecisionRequestSchema,
  decisionRequestSchema,
  MAX_CONTEXT_BYTES,
  MAX_PLACEMENTS_PER_REQUEST,
  type Decision,
  type DecisionRequest,
} from '../domain/decision.js';
import type { DecisionProfile } from '../domain/decision-profile.js';
import { StoreUnavailableError } from '../domain/errors.js';
import { FORBIDDEN_KEYS, isPlainObject, jsonByteLength, pathOf, type JsonObject } from '../domain/json.js';
import { decide, UnknownPlacementsError } from '../decide/decide.js';
import type { RulesetSnapshot } from '../ruleset/snapshot.js';
import { parseCustomerId } from './customer-id.js';
import { decisionJson } from './decision-json.js';
import type { ResolvedDeps } from './deps.js';
import { toProblem, validationProblem, type Problem } from './problem.js';
import { checkRawJson, parseJsonBody, parseWith, readJson, rejectForbiddenKeys } from './request-body.js';
import { jsonAnswer } from './request-log.js';

const BATCH_LOAD_CHUNK = 100;

export function decisionsRoutes(deps: ResolvedDeps): Hono {
  const app = new Hono();
  const warnDegraded = degradedWarner(deps);

  app.post('/batch', async (c) => {
    const body = await parseJsonBody(c);
    // The envelope is checked here, each request on its own below, so one hostile request fails alone.
    checkRawJson(isPlainObject(body) ? { ...body, requests: [] } : body, '$');
    const { requests } = parseWith(batchDecisionRequestSchema, body);
    const snapshot = deps.snapshot();
    // Each result's JSON, in request order: decisions through decisionJson, which keeps every served item's JSON,
    // and a batch serves the same items many times.
    const results: string[] = new Array(requests.length);
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
      const profiles = await readProfiles(deps, warnDegraded, [...new Set(chunk.map((v) => v.request.customerId))]);
      for (const { index, request } of chunk) {
        const profile = profiles?.get(request.customerId) ?? null;
        try {
          const decision = await decideCounted(deps, snapshot, profile, request, now);
          results[index] = decisionJson(profiles === null ? markDegraded(decision) : decision);
        } catch (err) {
          if (!(err instanceof UnknownPlacementsError)) throw err;
          results[index] = JSON.stringify(problemAt(toProblem(err).problem, `$.requests[${index}]`));
        }
      }
    }
    return jsonAnswer(c, `{"results":[${results.join(',')}]}`);
  });

  app.post('/', async (c) => {
    const snapshot = deps.snapshot();
    const request = toDecisionRequest(await readJson(c));
    return jsonAnswer(c, decisionJson(await decideOne(deps, warnDegraded, snapshot, request)));
  });

  app.get('/:customerId', async (c) => {
    const snapshot = deps.snapshot();
    const customerId = parseCustomerId(c.req.param('customerId'));
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
    return jsonAnswer(c, decisionJson(await decideOne(deps, warnDegraded, snapshot, request)));
  });

  return app;
}

type DegradedWarner = (err: StoreUnavailableError, customers: number) => void;

async function decideOne(deps: ResolvedDeps, warnDegraded: DegradedWarner, snapshot: RulesetSnapshot, request: DecisionRequest): Promise<Decision> {
  let profile: DecisionProfile | null;
  try {
    profile = await deps.store.getForDecision(request.customerId);
  } catch (err) {
    if (!(err instanceof StoreUnavailableError)) throw err;
    warnDegraded(err, 1);
    return markDegraded(await decideCounted(deps, snapshot, null, request, deps.now()));
  }
  return decideCounted(deps, snapshot, profile, request, deps.now());
}

/**
 * The chunk's decision profiles, or null when the store is unavailable: the
 * page must still render, so its requests are then decided as new visitors.
 * Customers in the profile cache never reach the store and are unaffected.
 */
async function readProfiles(deps: ResolvedDeps, warnDegraded: DegradedWarner, customerIds: readonly string[]): Promise<Map<string, DecisionProfile> | null> {
  try {
    return await deps.store.getManyForDecision(customerIds);
  } catch (err) {
    if (!(err instanceof StoreUnavailableError)) throw err;
    warnDegraded(err, customerIds.length);
    return null;
  }
}

const DEGRADED_WARN_INTERVAL_MS = 10_000;

/**
 * Logs degraded decisions at most once per interval, with how many customers
 * were decided blind since the last line: an outage under load must not flood
 * the log. Nothing is latched: every request still tries the store (or the
 * cache) first, so the service recovers by itself.
 */
function degradedWarner(deps: ResolvedDeps): DegradedWarner {
  let lastAt = -Infinity;
  let suppressed = 0;
  return (err, customers) => {
    suppressed += customers;
    const now = performance.now();
    if (now - lastAt < DEGRADED_WARN_INTERVAL_MS) return;
    lastAt = now;
    deps.logger.warn('profile store unavailable; deciding as for new visitors', { error: err.message, customers: suppressed });
    suppressed = 0;
  };
}

function markDegraded(decision: Decision): Decision {
  decision.degraded = true;
  return decision;
}

/** decide(), timed and counted for the metrics here, so that src/decide stays pure. */
async function decideCounted(
  deps: ResolvedDeps,
  snapshot: RulesetSnapshot,
  profile: DecisionProfile | null,
  request: DecisionRequest,
  now: number,
): Promise<Decision> {
  const started = performance.now();
  const decision = await decide(snapshot, profile, request, { now, decisionId: deps.newId() });
  deps.metrics.recordDecision(decision, (performance.now() - started) / 1000);
  return decision;
}

/** Validates one decision request, answering 400 for bad fields; decide() answers for placements the rules do not define. */
function toDecisionRequest(raw: unknown, at: ReadonlyArray<string | number> = []): DecisionRequest {
  const base = pathOf(at);
  const body = parseWith(decisionRequestSchema, raw, at);
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
