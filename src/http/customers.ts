/** A customer's profile: touchpoints in, attributes and stage set, read and deleted. */
import type { FieldError } from '../domain/errors.js';
import { findForbiddenKey, isPlainObject, jsonByteLength, joinPath } from '../domain/json.js';
import { profilePatchSchema, profileViewSchema, toProfileView, type Profile } from '../domain/profile.js';
import { appendResultSchema } from '../domain/responses.js';
import {
  MAX_FUTURE_SKEW_MS,
  MAX_TOUCHPOINT_PROPERTIES_BYTES,
  MAX_TOUCHPOINTS_PER_REQUEST,
  touchpointBatchSchema,
  touchpointInputSchema,
  type StoredTouchpoint,
  type TouchpointInput,
} from '../domain/touchpoint.js';
import { profileStage } from '../decide/decide.js';
import { parseCustomerId } from './customer-id.js';
import type { ResolvedDeps } from './deps.js';
import { notFoundProblem, validationProblem } from './problem.js';
import { parseWith, readJson, rejectForbiddenKeys } from './request-body.js';
import { defineRoute } from './route.js';

export const customerRoutes = [
  defineRoute({
    method: 'POST',
    path: '/v1/customers/:id/touchpoints',
    scope: 'ingest',
    body: {
      description: 'A touchpoint, or `{ "touchpoints": [...] }`.',
      schemas: [touchpointInputSchema, touchpointBatchSchema],
      examples: {
        single: {
          summary: 'One touchpoint',
          value: { id: 'evt-1001', type: 'cart_add', channel: 'web', at: '2026-01-31T12:00:00Z', properties: { sku: 'SKU-1', price: 19.9 } },
        },
        batch: {
          summary: 'Several touchpoints at once',
          value: {
            touchpoints: [
              { type: 'page_view', channel: 'web', at: '2026-01-31T11:58:00Z', properties: { url: '/jackets' } },
              { type: 'email_open', channel: 'email', at: '2026-01-31T12:05:00+01:00' },
            ],
          },
        },
      },
    },
    handler: (deps) => async (c) => {
      const customerId = parseCustomerId(c.req.param('id'));
      const body = await readJson(c);
      const now = deps.now();
      const touchpoints = isPlainObject(body) && 'touchpoints' in body
        ? parseWith(touchpointBatchSchema, body).touchpoints.map((tp, i) => toStored(tp, `$.touchpoints[${i}]`, now))
        : [toStored(parseWith(touchpointInputSchema, body), '$', now)];
      const errors = touchpoints.flatMap((t) => t.errors);
      if (errors.length > 0) throw validationProblem(`${errors[0]?.path}: ${errors[0]?.message}`, errors);
      const result = await deps.store.appendTouchpoints(customerId, touchpoints.map((t) => t.touchpoint), now);
      deps.metrics.recordTouchpoints(result);
      return c.json(result, 202);
    },
    doc: {
      operationId: 'appendTouchpoints',
      summary: 'Record touchpoints',
      description: `Records one touchpoint, or up to ${MAX_TOUCHPOINTS_PER_REQUEST} as \`{ "touchpoints": [...] }\`, for the customer (created if never seen). They are stored durably before the answer. A touchpoint whose \`id\` was already stored for the customer counts as a duplicate and is not stored again. A touchpoint already older than the retention period when it arrives is not stored and counts as \`expired\`; beyond the per-profile cap, the oldest touchpoints are dropped.`,
      tag: 'customers',
      pathParameters: { id: 'CustomerId' },
      responses: {
        202: { description: 'Stored.', json: appendResultSchema, example: { accepted: 2, duplicates: 0, expired: 0 } },
        400: 'InvalidRequest',
        503: 'StoreUnavailable',
      },
    },
  }),

  defineRoute({
    method: 'GET',
    path: '/v1/customers/:id',
    scope: 'profiles',
    handler: (deps) => async (c) => {
      const customerId = parseCustomerId(c.req.param('id'));
      const profile = await deps.store.get(customerId);
      if (!profile) throw notFoundProblem(`customer "${customerId}" has never been seen`);
      return c.json(await view(deps, profile));
    },
    doc: {
      operationId: 'getCustomer',
      summary: 'Read a profile',
      description: "The customer's profile: attributes, current stage (and where it came from), touchpoints newest first.",
      tag: 'customers',
      pathParameters: { id: 'CustomerId' },
      responses: {
        200: { description: 'The profile.', json: profileViewSchema },
        400: 'InvalidCustomerId',
        404: 'NotFound',
        503: 'Unavailable',
      },
    },
  }),

  defineRoute({
    method: 'PATCH',
    path: '/v1/customers/:id',
    scope: 'ingest',
    body: {
      description: 'What to change.',
      schemas: [profilePatchSchema],
      examples: {
        attributes: { summary: 'Merge attributes', value: { attributes: { tier: 'gold', nickname: null } } },
        stage: { summary: 'Set the stage explicitly', value: { stage: 'retention' } },
        clearStage: { summary: 'Let the rules infer the stage again', value: { stage: null } },
      },
    },
    handler: (deps) => async (c) => {
      const customerId = parseCustomerId(c.req.param('id'));
      const body = parseWith(profilePatchSchema, await readJson(c));
      if (body.attributes) rejectForbiddenKeys(body.attributes, '$.attributes');
      const snapshot = deps.snapshot();
      if (typeof body.stage === 'string' && !snapshot.stageIndex.has(body.stage)) {
        const message = `unknown stage "${body.stage}"; stages are ${snapshot.stages.join(', ')}`;
        throw validationProblem(message, [{ path: '$.stage', message }]);
      }
      const profile = await deps.store.patch(
        customerId,
        { ...(body.attributes ? { attributes: body.attributes } : {}), ...(body.stage !== undefined ? { stage: body.stage } : {}) },
        deps.now(),
      );
      return c.json(await view(deps, profile));
    },
    doc: {
      operationId: 'patchCustomer',
      summary: 'Update a profile',
      description:
        'Merges `attributes` as a JSON merge patch (RFC 7386: `null` deletes a key) and sets or clears the explicit `stage`. A customer never seen is created. Answers the profile as it is now.',
      tag: 'customers',
      pathParameters: { id: 'CustomerId' },
      responses: {
        200: { description: 'The profile after the change.', json: profileViewSchema },
        400: 'InvalidRequest',
        503: 'Unavailable',
      },
    },
  }),

  defineRoute({
    method: 'DELETE',
    path: '/v1/customers/:id',
    scope: 'profiles',
    handler: (deps) => async (c) => {
      const customerId = parseCustomerId(c.req.param('id'));
      // The customer's outcomes leave the report counters first: if that fails, the customer is still there to
      // delete again, and taking an outcome back is idempotent, so a retry never takes it twice.
      const outcomes = (await deps.store.get(customerId))?.outcomes ?? [];
      if (outcomes.length > 0) await deps.reports.store.forgetOutcomes(outcomes.map((outcome) => ({ ...outcome, customerId })));
      const existed = await deps.store.delete(customerId);
      if (!existed) throw notFoundProblem(`customer "${customerId}" has never been seen`);
      return c.body(null, 204);
    },
    doc: {
      operationId: 'deleteCustomer',
      summary: 'Delete a profile',
      description: "Deletes the customer: every trace is gone, caches included, and their outcomes leave the placement reports' counters.",
      tag: 'customers',
      pathParameters: { id: 'CustomerId' },
      responses: {
        204: { description: 'Deleted.' },
        400: 'InvalidCustomerId',
        404: 'NotFound',
        503: 'StoreUnavailable',
      },
    },
  }),
];

async function view(deps: ResolvedDeps, profile: Profile) {
  const stage = await profileStage(deps.snapshot(), profile, deps.now());
  return toProfileView(profile, stage.stage, stage.source);
}

function toStored(input: TouchpointInput, path: string, now: number): { touchpoint: StoredTouchpoint; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const at = input.at === undefined ? now : Date.parse(input.at);
  if (at > now + MAX_FUTURE_SKEW_MS) {
    errors.push({ path: joinPath(path, 'at'), message: 'is more than 5 minutes in the future' });
  }
  if (input.properties !== undefined) {
    const forbidden = findForbiddenKey(input.properties, joinPath(path, 'properties'));
    if (forbidden) errors.push({ path: forbidden, message: 'this key is not allowed' });
    if (jsonByteLength(input.properties) > MAX_TOUCHPOINT_PROPERTIES_BYTES) {
      errors.push({ path: joinPath(path, 'properties'), message: `must be at most ${MAX_TOUCHPOINT_PROPERTIES_BYTES} bytes as JSON` });
    }
  }
  return {
    touchpoint: { id: input.id ?? null, type: input.type, channel: input.channel, at, properties: input.properties ?? null },
    errors,
  };
}
