import { Hono, type Context } from 'hono';
import {
  batchDecisionRequestSchema,
  decisionRequestSchema,
  MAX_CONTEXT_BYTES,
  MAX_PLACEMENTS_PER_REQUEST,
  type Decision,
  type DecisionRequest,
} from '../domain/decision.js';
import type { DecisionProfile } from '../domain/decision-profile.js';
import { ProfileDataError, StoreUnavailableError } from '../domain/errors.js';
import { FORBIDDEN_KEYS, isPlainObject, joinPath, jsonByteLength, pathOf, type JsonObject } from '../domain/json.js';
import { decide, unknownPlacements } from '../decide/decide.js';
import type { RulesetSnapshot } from '../ruleset/snapshot.js';
import { parseCustomerId } from './customer-id.js';
import { decisionJson } from './decision-json.js';
import type { ResolvedDeps } from './deps.js';
import { HttpProblem, toProblem, validationProblem } from './problem.js';
import { checkRawJson, parseJsonBody, parseWith, readJson, rejectForbiddenKeys, rejectMalformedQuery } from './request-body.js';
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
    const degradedReasons = new Set<DegradedReason>();
    const valid: Array<{ index: number; request: DecisionRequest }> = [];
    requests.forEach((raw, index) => {
      try {
        checkRawJson(raw, `$.requests[${index}]`);
        valid.push({ index, request: toDecisionRequest(snapshot, raw, ['requests', index]) });
      } catch (err) {
        results[index] = JSON.stringify(toProblem(err).problem);
      }
    });
    const now = deps.now();
    // Profiles load a chunk at a time, so a batch of heavy profiles never holds the event loop (or memory) at once.
    for (let start = 0; start < valid.length; start += BATCH_LOAD_CHUNK) {
      const chunk = valid.slice(start, start + BATCH_LOAD_CHUNK);
      const loaded = await readProfiles(deps, warnDegraded, [...new Set(chunk.map((v) => v.request.customerId))]);
      const profiles = typeof loaded === 'string' ? null : loaded;
      const degraded = typeof loaded === 'string' ? loaded : undefined;
      if (degraded) degradedReasons.add(degraded);
      for (const { index, request } of chunk) {
        const profile = profiles?.get(request.customerId) ?? null;
        results[index] = decisionJson(await decideCounted(deps, snapshot, profile, request, now, degraded));
      }
    }
    return withDegradedHeader(jsonAnswer(c, `{"results":[${results.join(',')}]}`), degradedReasons);
  });

  app.post('/', async (c) => {
    const snapshot = deps.snapshot();
    const request = toDecisionRequest(snapshot, await readJson(c));
    return decisionAnswer(c, await decideOne(deps, warnDegraded, snapshot, request));
  });

  app.get('/:customerId', async (c) => {
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
    // are strings by construction, and every placement must be one the rules define (all slugs).
    const request: DecisionRequest = { customerId, placements: knownPlacements(snapshot, placements, '$'), context, explain: false };
    // The busiest route of all: the decision's JSON built from its items' kept JSON, its answer on the adapter's fast path.
    return decisionAnswer(c, await decideOne(deps, warnDegraded, snapshot, request));
  });

  return app;
}

type DegradedWarner = (err: Error, reason: DegradedReason, customers: number) => void;

/**
 * Why a decision was made as for a new visitor: the store is unavailable, or
 * it answered but the customer's stored data could not be read. Sent in the
 * `X-Nextbest-Degraded` header; the decision's JSON says `degraded: true`.
 */
type DegradedReason = 'store-unavailable' | 'profile-unreadable';

const DEGRADED_HEADER = 'X-Nextbest-Degraded';

/** The reason a profile read failed, when the page should still render without it; null for any other error. */
function degradedReason(err: unknown): DegradedReason | null {
  if (err instanceof StoreUnavailableError) return 'store-unavailable';
  if (err instanceof ProfileDataError) return 'profile-unreadable';
  return null;
}

async function decideOne(deps: ResolvedDeps, warnDegraded: DegradedWarner, snapshot: RulesetSnapshot, request: DecisionRequest): Promise<Decision> {
  let profile: DecisionProfile | null;
  try {
    profile = await deps.store.getForDecision(request.customerId);
  } catch (err) {
    const reason = degradedReason(err);
    if (reason === null) throw err;
    warnDegraded(err as Error, reason, 1);
    return decideCounted(deps, snapshot, null, request, deps.now(), reason);
  }
  return decideCounted(deps, snapshot, profile, request, deps.now());
}

/**
 * The chunk's decision profiles, or why they could not be read: the page must
 * still render, so its requests are then decided as new visitors. Customers
 * in the profile cache never reach the store and are unaffected.
 */
async function readProfiles(
  deps: ResolvedDeps,
  warnDegraded: DegradedWarner,
  customerIds: readonly string[],
): Promise<Map<string, DecisionProfile> | DegradedReason> {
  try {
    return await deps.store.getManyForDecision(customerIds);
  } catch (err) {
    const reason = degradedReason(err);
    if (reason === null) throw err;
    warnDegraded(err as Error, reason, customerIds.length);
    return reason;
  }
}

/** Why each degraded decision was degraded, for its answer's header. */
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
  return (err, reason, customers) => {
    suppressed += customers;
    const now = performance.now();
    if (now - lastAt < DEGRADED_WARN_INTERVAL_MS) return;
    lastAt = now;
    const why = reason === 'store-unavailable' ? 'profile store unavailable' : 'stored profile data could not be read';
    deps.logger.warn(`${why}; deciding as for new visitors`, { error: err.message, reason, customers: suppressed });
    suppressed = 0;
  };
}

function markDegraded(decision: Decision, reason: DegradedReason): void {
  decision.degraded = true;
  degradedBecause.set(decision, reason);
}

/**
 * decide(), timed and counted for the metrics here, so that src/decide stays
 * pure. A degraded decision is marked before it is counted, so the metrics see it.
 */
async function decideCounted(
  deps: ResolvedDeps,
  snapshot: RulesetSnapshot,
  profile: DecisionProfile | null,
  request: DecisionRequest,
  now: number,
  degraded?: DegradedReason,
): Promise<Decision> {
  const started = performance.now();
  const decision = await decide(snapshot, profile, request, { now, decisionId: deps.newId() });
  if (degraded) markDegraded(decision, degraded);
  deps.metrics.recordDecision(decision, (performance.now() - started) / 1000);
  return decision;
}

/** Validates one decision request, answering 400 for bad fields and for placements the rules do not define. */
function toDecisionRequest(snapshot: RulesetSnapshot, raw: unknown, at: ReadonlyArray<string | number> = []): DecisionRequest {
  const base = pathOf(at);
  const body = parseWith(decisionRequestSchema, raw, at);
  const context = (body.context ?? {}) as JsonObject;
  rejectForbiddenKeys(context, `${base}.context`);
  if (jsonByteLength(context) > MAX_CONTEXT_BYTES) {
    throw validationProblem(`context must be at most ${MAX_CONTEXT_BYTES} bytes as JSON`, [
      { path: `${base}.context`, message: `must be at most ${MAX_CONTEXT_BYTES} bytes as JSON` },
    ]);
  }
  return { customerId: body.customerId, placements: knownPlacements(snapshot, body.placements, base), context, explain: body.explain ?? false };
}

/** The placements asked for, de-duplicated; a 400 naming every one the rules do not define. */
function knownPlacements(snapshot: RulesetSnapshot, asked: readonly string[], base: string): string[] {
  const placements = [...new Set(asked)];
  const unknown = unknownPlacements(snapshot, placements);
  if (unknown.length === 0) return placements;
  const errors = asked.flatMap((name, i) =>
    unknown.includes(name) ? [{ path: `${base}.placements[${i}]`, message: `unknown placement "${name}"` }] : [],
  );
  throw new HttpProblem({
    type: '/problems/unknown-placement',
    title: 'Unknown placement',
    status: 400,
    detail: `unknown placement${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}; the rules define ${[...snapshot.placements.keys()].join(', ') || 'none'}`,
    errors,
  });
}
